package extract

import (
	"fmt"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
)

type listedImage struct {
	page, w, h int
	kind       string
}

// pdfimagesList runs `pdfimages -list` and returns the drawn images (soft masks and explicit
// masks, which are listed as separate rows, are left out: extract reports them as a property
// of the image they mask).
func pdfimagesList(t testing.TB, path string) []listedImage {
	t.Helper()
	out, err := exec.Command("pdfimages", "-list", path).Output()
	if err != nil {
		t.Fatalf("pdfimages -list %s: %v", path, err)
	}
	var imgs []listedImage
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		page, err := strconv.Atoi(f[0])
		if err != nil {
			continue
		}
		if f[2] == "smask" || f[2] == "mask" {
			continue
		}
		w, _ := strconv.Atoi(f[3])
		h, _ := strconv.Atoi(f[4])
		imgs = append(imgs, listedImage{page, w, h, f[2]})
	}
	return imgs
}

type imageResult struct {
	doc              string
	listed, ours, ok int
	mismatchedPages  []string
}

// compareImages compares our image placements per page with `pdfimages -list`.
func compareImages(t testing.TB, c corpusDoc, pages []*Page) imageResult {
	listed := pdfimagesList(t, c.path)
	r := imageResult{doc: c.short(), listed: len(listed)}
	byPage := map[int][]string{}
	for _, l := range listed {
		byPage[l.page] = append(byPage[l.page], fmt.Sprintf("%dx%d", l.w, l.h))
	}
	for i, p := range pages {
		if p == nil {
			continue
		}
		var ours []string
		for _, im := range p.Images {
			ours = append(ours, fmt.Sprintf("%dx%d", im.Width, im.Height))
		}
		r.ours += len(ours)
		want := byPage[i+1]
		sort.Strings(ours)
		sort.Strings(want)
		if strings.Join(ours, ",") == strings.Join(want, ",") {
			r.ok += len(want)
			continue
		}
		r.mismatchedPages = append(r.mismatchedPages, fmt.Sprintf("p%d ours [%s] pdfimages [%s]", i+1, strings.Join(ours, " "), strings.Join(want, " ")))
	}
	if len(r.mismatchedPages) > 0 {
		t.Errorf("%s: image placements differ from pdfimages -list on %d pages: %s", r.doc, len(r.mismatchedPages), strings.Join(r.mismatchedPages[:min(3, len(r.mismatchedPages))], "; "))
	}
	return r
}

func printImageTable(t testing.TB, rs []imageResult) {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-58s %9s %6s %9s\n", "document (with images)", "pdfimages", "ours", "bad pages")
	tl, to := 0, 0
	for _, r := range rs {
		if r.listed == 0 && r.ours == 0 {
			continue
		}
		fmt.Fprintf(&b, "%-58s %9d %6d %9d\n", r.doc, r.listed, r.ours, len(r.mismatchedPages))
		tl += r.listed
		to += r.ours
	}
	fmt.Fprintf(&b, "%-58s %9d %6d\n", "total", tl, to)
	t.Log(b.String())
}
