package layout

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/eosinlab/eosin/extract"
)

func TestDebugDump(t *testing.T) {
	path := os.Getenv("LAYOUT_DEBUG")
	if path == "" {
		t.Skip("dev helper")
	}
	pg, _ := strconv.Atoi(os.Getenv("LAYOUT_PAGE"))
	doc, err := extract.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]tline
	var pages []*extract.Page
	for i := 1; i <= doc.NumPages(); i++ {
		p, _ := doc.Page(context.Background(), i)
		pages = append(pages, p)
		lines = append(lines, pageLines(p))
	}
	st := computeStats(lines, pages[0].Width)
	for i := range lines {
		lines[i] = finishLines(lines[i], st.columns)
	}
	fmt.Printf("stats %+v\n", st)
	painted := make([][]extract.Rect, len(pages))
	for i, p := range pages {
		painted[i], _ = paintedBoxes(p)
	}
	var pc []candidate
	for _, c := range findCandidates(lines, painted, st) {
		if c.page == pg-1 {
			pc = append(pc, c)
		}
	}
	pm := &pageModel{page: pages[pg-1], lines: lines[pg-1]}
	figs, fails := layoutPage(pm, pc, st)
	for i, l := range pm.lines {
		fmt.Printf("L%d role=%d mono=%v %v size=%.1f font=%s %q\n", i, l.role, l.mono, l.box, l.size, l.font, l.text)
	}
	for i, b := range pm.blobs {
		fmt.Printf("B%d %v n=%d img=%v text=%v\n", i, b.box, b.nGraph, b.images, b.text)
	}
	for _, f := range figs {
		fmt.Printf("FIG %s %v %s\n", f.block.cand.m.Label, f.region, f.prop.dir)
	}
	fmt.Println(fails)
}
