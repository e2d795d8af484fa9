package inspect

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/eosinlab/eosin/inspect/internal/browser"
)

// viewState is what a view shows once drawn, as the browser reports it.
type viewState struct {
	Errors  []string `json:"errors"`
	State   string   `json:"state"`
	View    string   `json:"view"`
	Visible string   `json:"visible"` // id of the one visible view section
	Text    int      `json:"text"`    // characters of text in it
	Count   int      `json:"count"`   // the view's own measure (see the cases)
	Extra   []string `json:"extra"`
}

// TestReportViewsDirect opens every view of a report straight from its URL, as a bookmark or
// a shared link does: a fresh page load, no view opened before. Each must end ready, without
// a script error, showing what its URL names. The report holds an extraction (shuffled, with
// samples whose images are files, an agreement report) and a dataset version whose rejects
// live in a reject file.
func TestReportViewsDirect(t *testing.T) {
	exe := needChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	fx := writeUserFixture(t, t.TempDir())
	prefix := filepath.Join(t.TempDir(), "figures")
	commitFixtureDataset(t, fx, prefix, nil)
	dirSrc, err := OpenDir(fx.dir)
	if err != nil {
		t.Fatal(err)
	}
	dsSrc, err := OpenDataset(ctx, prefix)
	if err != nil {
		t.Fatal(err)
	}
	defer dsSrc.Close()
	out := filepath.Join(t.TempDir(), "report")
	sum, err := Build(ctx, Options{Dir: out, ChunkSize: 16, Jobs: 2}, dirSrc, dsSrc)
	if err != nil {
		t.Fatal(err)
	}
	nfig := 2 * len(fx.figs)
	if sum.Figures != nfig || sum.Rejects != 2*fx.rejects {
		t.Fatalf("summary %+v", sum)
	}
	first := fx.figs[0]
	mid := fx.figs[len(fx.figs)/2]
	perDoc := 0
	for _, f := range fx.figs {
		if f.Doc.SHA256 == mid.Doc.SHA256 {
			perDoc += 2 // once from the folder, once from the dataset
		}
	}
	sampleFig := 0
	for _, s := range fx.samples {
		if s.FigureID != "" {
			sampleFig++
		}
	}
	b, err := browser.Launch(ctx, exe, 1280, 800)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// Each case: the URL's hash, the view it names, a script measuring what the view shows
	// (into count and extra), and the count wanted.
	for _, c := range []struct {
		hash, view string
		measure    string
		want       int
		check      func(t *testing.T, s viewState)
	}{
		{"", "overview", `document.querySelectorAll('#doc-table tbody tr').length`, len(fx.docs), nil},
		{"#overview", "overview", `(() => { const r = document.querySelector('#manifest-0').getBoundingClientRect();
			return r.width > 0 && r.height > 0 && r.top >= 0 && r.top < innerHeight && r.left >= 0 && r.right <= innerWidth
				&& document.documentElement.scrollWidth <= innerWidth ? 1 : 0; })()`, 1, nil},
		{"#overview", "overview", `document.querySelectorAll('#agreement-0 tbody tr').length`, 3, nil},
		{"#figures", "figures", `document.querySelectorAll('#gallery .card').length`, min(nfig, 48), func(t *testing.T, s viewState) {
			if len(s.Extra) == 0 || s.Extra[0] != first.ID {
				t.Errorf("first card %v, want %s (first document, first page, top)", s.Extra, first.ID)
			}
		}},
		{"#figures?doc=" + url.QueryEscape(mid.Doc.SHA256), "figures", `+document.getElementById('result').dataset.count`, perDoc, nil},
		{"#figures?doc=not-a-document", "figures", `+document.getElementById('result').dataset.count`, 0, nil},
		{"#figure/" + url.PathEscape(mid.ID), "figure", `document.querySelectorAll('#view-figure .fig-title').length`, 1, func(t *testing.T, s viewState) {
			if !contains(s.Extra, mid.ID) {
				t.Errorf("figure view shows %v, want %s", s.Extra, mid.ID)
			}
		}},
		{"#figure/" + url.PathEscape(mid.ID) + "~2", "figure", `document.querySelectorAll('#view-figure .fig-title').length`, 1, nil},
		{"#figure/no-such-figure", "figure", `document.querySelectorAll('#no-figure').length`, 1, nil},
		{"#rejects", "rejects", `document.querySelectorAll('#reject-table tbody tr').length`, 2 * fx.rejects, nil},
		{"#rejects?doc=" + url.QueryEscape("/corpus/broken.pdf"), "rejects", `+document.querySelector('#view-rejects .result').dataset.count`, 2, nil},
		{"#samples", "samples", `document.querySelectorAll('.sample').length`, len(fx.samples), func(t *testing.T, s viewState) {
			if len(s.Extra) != sampleFig {
				t.Errorf("%d samples link to their figure, want %d: %v", len(s.Extra), sampleFig, s.Extra)
			}
			for _, h := range s.Extra {
				id, _ := url.PathUnescape(h[len("#figure/"):])
				if !fixtureHas(fx, id) {
					t.Errorf("a sample links to %s, not a figure id", h)
				}
			}
		}},
		{"#samples?keep=0", "samples", `+document.querySelector('#view-samples .result').dataset.count`, len(fx.samples) / 2, nil},
	} {
		t.Run(fmt.Sprintf("%s%s", c.view, c.hash), func(t *testing.T) {
			// A fresh document each time: a blank page first, then the report at the URL.
			if err := b.Navigate(ctx, "about:blank"); err != nil {
				t.Fatal(err)
			}
			if err := b.Navigate(ctx, fileURL(filepath.Join(out, "index.html"))+c.hash); err != nil {
				t.Fatal(err)
			}
			waitReady(ctx, t, b, c.view)
			var s viewState
			extra := `[]`
			switch c.view {
			case "figures":
				extra = `[...document.querySelectorAll('#gallery .card')].map(e => e.dataset.id)`
			case "figure":
				extra = `[...document.querySelectorAll('#view-figure .meta-list code')].map(e => e.textContent)`
			case "samples":
				extra = `[...document.querySelectorAll('.sample .sample-head a')].map(a => a.getAttribute('href'))`
			}
			err = b.Eval(ctx, `(() => { const v = [...document.querySelectorAll('.view')].filter(e => !e.hidden);
				return {errors: EOSIN.errors, state: document.documentElement.dataset.state, view: document.documentElement.dataset.view,
				  visible: v.map(e => e.id).join(','), text: v.length ? v[0].innerText.trim().length : 0,
				  count: `+c.measure+`, extra: `+extra+`}; })()`, &s)
			if err != nil {
				t.Fatal(err)
			}
			wantSection := "view-" + c.view
			if len(s.Errors) > 0 || s.State != "ready" || s.Visible != wantSection || s.Text == 0 {
				t.Fatalf("%s opened directly: errors %v, state %q, visible %q (want %s), %d characters of text",
					c.hash, s.Errors, s.State, s.Visible, wantSection, s.Text)
			}
			if s.Count != c.want {
				t.Errorf("%s opened directly: %s = %d, want %d", c.hash, c.measure, s.Count, c.want)
			}
			if c.check != nil {
				c.check(t, s)
			}
		})
	}
}

func fixtureHas(fx userFixture, id string) bool {
	for _, f := range fx.figs {
		if f.ID == id {
			return true
		}
	}
	return false
}
