package inspect

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eosinlab/eosin/inspect/internal/browser"
	"github.com/eosinlab/eosin/shards"
)

// needChromium returns Chromium's path; without it the test is skipped, or fails on CI.
func needChromium(t testing.TB) string {
	t.Helper()
	exe, err := browser.Find()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return exe
}

// shotDir is where screenshots go: $INSPECT_SHOTS when set (to keep them), else a temp dir.
func shotDir(t testing.TB) string {
	if d := os.Getenv("INSPECT_SHOTS"); d != "" {
		d = filepath.Join(d, strings.NewReplacer("/", "-").Replace(t.Name()))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

func fileURL(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		panic(err)
	}
	return "file://" + filepath.ToSlash(abs)
}

// view navigates to a view of the report and waits until it has rendered.
func view(ctx context.Context, t testing.TB, b *browser.Browser, hash, viewName string) {
	t.Helper()
	if err := b.Eval(ctx, fmt.Sprintf("location.hash = %q", hash), nil); err != nil {
		t.Fatal(err)
	}
	waitReady(ctx, t, b, viewName)
}

func waitReady(ctx context.Context, t testing.TB, b *browser.Browser, viewName string) {
	t.Helper()
	expr := fmt.Sprintf(`document.documentElement.dataset.view === %q && document.documentElement.dataset.state !== 'loading'`, viewName)
	if err := b.WaitFor(ctx, expr, 60*time.Second); err != nil {
		var diag any
		b.Eval(ctx, `({errors: window.EOSIN && EOSIN.errors, view: document.documentElement.dataset.view,
			state: document.documentElement.dataset.state, hash: location.hash, body: document.body.innerText.slice(0, 300)})`, &diag)
		t.Fatalf("%v; page: %v", err, diag)
	}
	var st string
	if err := b.Eval(ctx, `document.documentElement.dataset.state`, &st); err != nil {
		t.Fatal(err)
	}
	if st != "ready" {
		var msg string
		b.Eval(ctx, `(document.querySelector('.note.error')||{}).textContent || ''`, &msg)
		t.Fatalf("view %s ended in state %q: %s", viewName, st, msg)
	}
}

// eagerImages makes every <img> load now and reports how many there are and which failed.
const eagerImages = `(async () => {
  const imgs = [...document.querySelectorAll('img')].filter(i => i.offsetParent !== null || i.closest('.view:not([hidden])'));
  await Promise.all(imgs.map(img => {
    img.loading = 'eager';
    if (img.complete) return null;
    return new Promise(r => { img.addEventListener('load', r); img.addEventListener('error', r); });
  }));
  await Promise.all(imgs.map(img => img.decode ? img.decode().catch(() => null) : null));
  return {n: imgs.length, broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src'))};
})()`

type imgCheck struct {
	N      int      `json:"n"`
	Broken []string `json:"broken"`
}

func saveShot(ctx context.Context, t testing.TB, b *browser.Browser, dir, name string, full bool) string {
	t.Helper()
	png, err := b.Screenshot(ctx, full)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%d bytes)", p, len(png))
	return p
}

// countMatches counts the figures a query matches, by the rule SearchText documents.
func countMatches(figs []shards.Figure, q string) int {
	terms := strings.Fields(strings.ToLower(q))
	n := 0
	for _, f := range figs {
		text := SearchText(f)
		ok := true
		for _, term := range terms {
			if !strings.Contains(text, term) {
				ok = false
				break
			}
		}
		if ok {
			n++
		}
	}
	return n
}

// checkReport opens a built report in headless Chromium and checks it against the figures
// it was built from: the gallery shows them all in report order, every image loads, search and the document
// filter narrow the gallery to exactly the matching figures, a figure's page view draws its
// boxes where the record puts them. It saves screenshots into shots and returns the browser
// checks it ran, for the log.
func checkReport(ctx context.Context, t *testing.T, dir string, figs []shards.Figure, query string, shots string) {
	t.Helper()
	exe := needChromium(t)
	figs = reportOrder(figs)
	b, err := browser.Launch(ctx, exe, 1440, 960)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Navigate(ctx, fileURL(filepath.Join(dir, "index.html"))); err != nil {
		t.Fatal(err)
	}
	waitReady(ctx, t, b, "overview")
	saveShot(ctx, t, b, shots, "overview.png", false)
	var errs []string
	if err := b.Eval(ctx, `EOSIN.errors || []`, &errs); err != nil || len(errs) > 0 {
		t.Fatalf("script errors on the overview: %v %v", errs, err)
	}

	// Every figure, on one gallery page.
	view(ctx, t, b, "#figures?per=all", "figures")
	var cards, shown int
	if err := b.Eval(ctx, `document.querySelectorAll('#gallery .card').length`, &cards); err != nil {
		t.Fatal(err)
	}
	if err := b.Eval(ctx, `+document.getElementById('result').dataset.count`, &shown); err != nil {
		t.Fatal(err)
	}
	if cards != len(figs) || shown != len(figs) {
		t.Errorf("gallery shows %d cards, counter says %d; the input has %d figures", cards, shown, len(figs))
	}
	var ids []string
	if err := b.Eval(ctx, `[...document.querySelectorAll('#gallery .card')].map(c => c.dataset.id)`, &ids); err != nil {
		t.Fatal(err)
	}
	for k, f := range figs {
		if k < len(ids) && ids[k] != f.ID {
			t.Errorf("card %d is %s, want %s", k, ids[k], f.ID)
			break
		}
	}
	var ic imgCheck
	if err := b.Eval(ctx, eagerImages, &ic); err != nil {
		t.Fatal(err)
	}
	if ic.N != len(figs) || len(ic.Broken) > 0 {
		t.Errorf("gallery images: %d of %d shown, broken: %v", ic.N, len(figs), ic.Broken)
	}
	t.Logf("gallery: %d cards, %d images loaded, %d broken", cards, ic.N, len(ic.Broken))

	// The default page of the gallery, as a person first sees it.
	view(ctx, t, b, "#figures", "figures")
	if err := b.Eval(ctx, eagerImages, &ic); err != nil {
		t.Fatal(err)
	}
	saveShot(ctx, t, b, shots, "gallery.png", false)

	// Search: typing into the box narrows the gallery to the matching figures.
	want := countMatches(figs, query)
	if want == 0 || want == len(figs) {
		t.Fatalf("query %q matches %d of %d figures: pick a discriminating one", query, want, len(figs))
	}
	err = b.Eval(ctx, fmt.Sprintf(`(() => { const q = document.getElementById('q'); q.value = %q;
		q.dispatchEvent(new Event('input', {bubbles: true})); })()`, query), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.WaitFor(ctx, `location.hash.indexOf('q=') > 0`, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	waitReady(ctx, t, b, "figures")
	var got int
	if err := b.Eval(ctx, `+document.getElementById('result').dataset.count`, &got); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("search %q: the gallery shows %d figures, want %d", query, got, want)
	}
	var cardsNow int
	b.Eval(ctx, `document.querySelectorAll('#gallery .card').length`, &cardsNow)
	if cardsNow != min(want, 48) {
		t.Errorf("search %q: %d cards on the first page, want %d", query, cardsNow, min(want, 48))
	}
	b.Eval(ctx, eagerImages, &ic)
	saveShot(ctx, t, b, shots, "search.png", false)
	t.Logf("search %q: %d of %d figures", query, got, len(figs))

	// Document filter: the most figure-rich document.
	perDoc := map[string]int{}
	docOrder := []string{}
	for _, f := range figs {
		if perDoc[f.Doc.SHA256] == 0 {
			docOrder = append(docOrder, f.Doc.SHA256)
		}
		perDoc[f.Doc.SHA256]++
	}
	best := docOrder[0]
	for _, d := range docOrder {
		if perDoc[d] > perDoc[best] {
			best = d
		}
	}
	var docIdx int
	if err := b.Eval(ctx, fmt.Sprintf(`(() => { const s = document.getElementById('f-doc');
		const q = document.getElementById('q'); q.value = '';
		const i = EOSIN.index.docs.findIndex(d => d.sha === %q); s.value = EOSIN.index.docs[i].id;
		s.dispatchEvent(new Event('change', {bubbles: true})); return i; })()`, best), &docIdx); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitFor(ctx, `location.hash.indexOf('doc=') > 0 && location.hash.indexOf('q=') < 0`, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	waitReady(ctx, t, b, "figures")
	if err := b.Eval(ctx, `+document.getElementById('result').dataset.count`, &got); err != nil {
		t.Fatal(err)
	}
	if got != perDoc[best] {
		t.Errorf("document filter: %d figures shown, the document has %d", got, perDoc[best])
	}

	// A figure on its page: the first one whose page was rendered.
	var pages map[string]pageJSON
	if err := b.Eval(ctx, `EOSIN.pages`, &pages); err != nil {
		t.Fatal(err)
	}
	target := -1
	for k, f := range figs {
		key := fmt.Sprintf("-p%04d", f.Page)
		for pk := range pages {
			if strings.HasPrefix(pk, f.Doc.SHA256[:16]) && strings.HasSuffix(pk, key) {
				if target < 0 || len(f.SubFigures) > 0 && len(figs[target].SubFigures) == 0 {
					target = k
				}
			}
		}
	}
	if len(pages) > 0 && target < 0 {
		t.Fatal("pages were rendered but no figure points at one")
	}
	if target >= 0 {
		view(ctx, t, b, "#figure/"+url.PathEscape(figs[target].ID), "figure")
		if err := b.Eval(ctx, eagerImages, &ic); err != nil {
			t.Fatal(err)
		}
		if len(ic.Broken) > 0 {
			t.Errorf("figure view: broken images %v", ic.Broken)
		}
		// The figure box must sit where the record says, scaled from PDF points.
		var geo struct {
			Page [4]float64 `json:"page"`
			Fig  [4]float64 `json:"fig"`
			Cap  [4]float64 `json:"cap"`
			NSub int        `json:"nsub"`
		}
		err := b.Eval(ctx, `(() => { const r = e => { const b = e.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; };
			const cap = document.querySelector('.overlay rect.cap');
			return {page: r(document.querySelector('.page-img')), fig: r(document.querySelector('.overlay rect.fig')),
			  cap: cap ? r(cap) : [0,0,0,0], nsub: document.querySelectorAll('.overlay rect.panel').length}; })()`, &geo)
		if err != nil {
			t.Fatal(err)
		}
		f := figs[target]
		sx := (geo.Page[2] - geo.Page[0]) / f.PageSize.Width
		sy := (geo.Page[3] - geo.Page[1]) / f.PageSize.Height
		for k, v := range f.BBox {
			s, o := sx, geo.Page[0]
			if k%2 == 1 {
				s, o = sy, geo.Page[1]
			}
			if d := geo.Fig[k] - (o + v*s); d > 2.5 || d < -2.5 {
				t.Errorf("figure box edge %d drawn at %.1f px, want %.1f", k, geo.Fig[k], o+v*s)
			}
		}
		wantSub := 0
		for _, sf := range f.SubFigures {
			if sf.BBox[2] > sf.BBox[0] && sf.BBox[3] > sf.BBox[1] {
				wantSub++
			}
		}
		if geo.NSub != wantSub {
			t.Errorf("figure view draws %d panel boxes, want %d", geo.NSub, wantSub)
		}
		saveShot(ctx, t, b, shots, "figure-page.png", false)
		t.Logf("figure view: %s (%s p.%d), %d panel boxes", f.ID, f.Doc.URI, f.Page, geo.NSub)
	}

	if target < 0 {
		// No source could be rendered: the figure view shows the crop and says why.
		view(ctx, t, b, "#figure/"+url.PathEscape(figs[0].ID), "figure")
		var note string
		if err := b.Eval(ctx, `(document.getElementById('page-missing') || {}).textContent || ''`, &note); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(note, "not shown") {
			t.Errorf("figure view without a page: note %q", note)
		}
		if err := b.Eval(ctx, eagerImages, &ic); err != nil || ic.N != 1 || len(ic.Broken) > 0 {
			t.Errorf("figure view without a page: %d images, broken %v (%v)", ic.N, ic.Broken, err)
		}
		saveShot(ctx, t, b, shots, "figure-nopage.png", false)
	}

	// Every page thumbnail loads.
	var pageCheck imgCheck
	if err := b.Eval(ctx, `(async () => { const srcs = Object.values(EOSIN.pages).map(p => p.src);
		const res = await Promise.all(srcs.map(s => new Promise(r => { const i = new Image();
		  i.onload = () => r(i.naturalWidth > 0 ? null : s); i.onerror = () => r(s); i.src = s; })));
		return {n: srcs.length, broken: res.filter(Boolean)}; })()`, &pageCheck); err != nil {
		t.Fatal(err)
	}
	if len(pageCheck.Broken) > 0 {
		t.Errorf("page thumbnails that do not load: %v", pageCheck.Broken)
	}
	t.Logf("page thumbnails: %d load, %d broken", pageCheck.N, len(pageCheck.Broken))

	// Nothing but local files was requested.
	var remote []string
	if err := b.Eval(ctx, `performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith('file:'))`, &remote); err != nil {
		t.Fatal(err)
	}
	if len(remote) > 0 {
		t.Errorf("the report requested non-local resources: %v", remote)
	}

	// The other views render without script errors.
	view(ctx, t, b, "#rejects", "rejects")
	saveShot(ctx, t, b, shots, "rejects.png", false)
	view(ctx, t, b, "#samples", "samples")
	saveShot(ctx, t, b, shots, "samples.png", false)
	if err := b.Eval(ctx, `EOSIN.errors || []`, &errs); err != nil || len(errs) > 0 {
		t.Fatalf("script errors: %v %v", errs, err)
	}
}

// readPages decodes data/pages.js of a report.
func readPages(t testing.TB, dir string) map[string]pageJSON {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "data", "pages.js"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	s = s[strings.Index(s, ",0,")+3 : strings.LastIndex(s, ");")]
	var m map[string]pageJSON
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}
