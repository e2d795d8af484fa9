package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eosinlab/eosin/shards"
)

// writeExtractDir writes an 'eosin extract' output directory of n figures with PNG images.
func writeExtractDir(t *testing.T, dir string, n int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "images"), 0o755); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for i := 0; i < n; i++ {
		img := image.NewRGBA(image.Rect(0, 0, 64, 48))
		for x := 0; x < 64; x++ {
			img.Set(x, (x*3+i)%48, color.RGBA{200, 40, uint8(60 * i), 255})
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		f := shards.Figure{ID: fmt.Sprintf("f%d", i), Label: "Figure 1", Page: 1,
			Caption: fmt.Sprintf("Squamous cell carcinoma of the skin with keratin pearls (case %d).", i),
			Doc:     shards.Doc{SHA256: strings.Repeat("ab", 32), URI: "file:///book.pdf"}, Image: shards.ImageInfo{Format: "png"}}
		b, _ := json.Marshal(f)
		lines = append(lines, string(b))
		if err := os.WriteFile(filepath.Join(dir, "images", f.ID+".png"), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "figures.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCoTGeneratorCheck: `eosin cot` against a dead, mistyped or failing generator stops
// before writing anything, with the URL and what went wrong, exit status 2 for a malformed
// URL and 1 otherwise; a run in which every request failed exits 1 without committing.
func TestCoTGeneratorCheck(t *testing.T) {
	dir := t.TempDir()
	ex := filepath.Join(dir, "extract")
	writeExtractDir(t, ex, 2)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String() + "/v1"
	l.Close()
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "upstream down", 502) }))
	defer failing.Close()
	// lists the model, refuses every chat request: passes the check, fails every request
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			fmt.Fprint(w, `{"data":[{"id":"m"}]}`)
			return
		}
		http.Error(w, `{"error":"model is loading"}`, http.StatusNotFound)
	}))
	defer refusing.Close()
	good := chatServer()
	defer good.Close()

	for i, tc := range []struct {
		name      string
		generator string
		beam      bool     // -o PREFIX (else --output-dir)
		extra     []string // further flags
		code      int
		want      []string // parts of the output
	}{
		{"no scheme", "localhost:18000", false, nil, 2, []string{"--generator", `"localhost:18000"`, "http://localhost:18000"}},
		{"no scheme, beam", "gpu:8000/v1", true, nil, 2, []string{"not an http(s) URL"}},
		{"dead port", dead, false, nil, 1, []string{"generator check", dead + "/models", "no connection", "connection refused"}},
		{"dead port, beam", dead, true, nil, 1, []string{dead + "/models", "no connection"}},
		{"404", notFound.URL + "/v1", true, nil, 1, []string{notFound.URL + "/v1/chat/completions", "HTTP 404", "API root"}},
		{"502", failing.URL + "/v1", false, nil, 1, []string{failing.URL + "/v1/models", "HTTP 502", "upstream down"}},
		{"every request fails", refusing.URL + "/v1", false, nil, 1, []string{"every request to the generator failed", refusing.URL + "/v1",
			"generator_http_404", "model is loading", "nothing was committed"}},
		{"every request fails, beam", refusing.URL + "/v1", true, nil, 1, []string{"every request to the generator failed", "generator_http_404"}},
		{"unchecked dead port", dead, false, []string{"--check-generator=false", "--attempts", "1"}, 1, []string{"every request to the generator failed",
			"generator_error", "connection refused"}},
		{"good", good.URL + "/v1", false, nil, 0, []string{"RL samples"}},
		{"good, beam", good.URL + "/v1", true, nil, 0, []string{"RL samples", "LATEST"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, fmt.Sprintf("out%d", i))
			cache := filepath.Join(dir, fmt.Sprintf("cache%d", i))
			argv := []string{"cot", "--pairs", ex, "--generator", tc.generator, "--model", "m", "--tasks", "mcq:medium:1",
				"--cache", cache, "--dedup", "-1", "--judge=false", "--agreement", "0", "--progress", "0"}
			if tc.beam {
				argv = append(argv, "-o", out, "--dataset-version", "v1")
			} else {
				argv = append(argv, "--output-dir", out)
			}
			argv = append(argv, tc.extra...)
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), argv, &stdout, &stderr)
			got := stdout.String() + stderr.String()
			if code != tc.code {
				t.Fatalf("exit %d, want %d:\n%s", code, tc.code, got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
			if tc.code == 0 {
				return
			}
			if strings.Contains(got, "rerun the same command to resume") {
				t.Errorf("a failure that a rerun does not resume advises it:\n%s", got)
			}
			// nothing committed: no dataset, no JSONL files; before the check, nothing at all
			passedCheck := !strings.Contains(got, "generator check") && tc.code != 2
			for _, p := range []string{filepath.Join(out, "sft", shards.LatestName), filepath.Join(out, "rl", "v1"),
				filepath.Join(out, "sft.jsonl"), filepath.Join(out, "summary.json")} {
				if _, err := os.Stat(p); err == nil {
					t.Errorf("%s written", p)
				}
			}
			if !passedCheck {
				for _, p := range []string{out, cache} {
					if _, err := os.Stat(p); err == nil {
						t.Errorf("%s created although the generator failed its check", p)
					}
				}
			}
		})
	}
}
