package cot

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/eosinlab/eosin/shards"
)

// recordingGen fails every request after keeping its body.
type recordingGen struct {
	mu   sync.Mutex
	reqs []string
}

func (g *recordingGen) Complete(_ context.Context, req *ChatRequest) (*ChatResponse, error) {
	b, _ := json.Marshal(req)
	g.mu.Lock()
	g.reqs = append(g.reqs, string(b))
	g.mu.Unlock()
	return nil, errors.New("recorded")
}

// TestExtractDirImageChecks: images that are symlinks out of the extract directory, or whose
// bytes are not the recorded image, never reach the model server; their figures become
// bad_image rejects naming the file.
func TestExtractDirImageChecks(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "extract")
	if err := os.MkdirAll(filepath.Join(dir, "images"), 0o755); err != nil {
		t.Fatal(err)
	}
	secret := []byte("root:x:0:0:root:/root:/bin/bash\n")
	secretPath := filepath.Join(base, "passwd")
	png := []byte("\x89PNG\r\n\x1a\n a real enough png")
	sum := sha256.Sum256(png)
	write := func(name string, b []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "images", name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(secretPath, secret, 0o644); err != nil {
		t.Fatal(err)
	}
	write("good.png", png)
	write("text.png", secret)
	write("badsha.png", png)
	write("inside.png", png)
	if err := os.Symlink(secretPath, filepath.Join(dir, "images", "passwd.png")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "images", "inside.png")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("good.png", filepath.Join(dir, "images", "inside.png")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id, sha string
		wantErr string // substring of ImageError; "" for a usable image
	}{
		{"good", hex.EncodeToString(sum[:]), ""},
		{"inside", "", ""}, // a symlink that stays inside the directory
		{"passwd", "", "passwd.png"},
		{"text", "", "not an image"},
		{"badsha", strings.Repeat("ab", 32), "sha256"},
	}
	var lines []string
	for i, tc := range tests {
		fig := shards.Figure{ID: tc.id, Label: "Figure 1", Caption: "Photomicrograph of melanoma in the skin, showing atypical melanocytes.",
			Doc: shards.Doc{SHA256: strings.Repeat("cd", 32), URI: "file:///book.pdf"}, Page: i + 1,
			Image: shards.ImageInfo{Format: "png", SHA256: tc.sha}}
		b, _ := json.Marshal(fig)
		lines = append(lines, string(b))
	}
	if err := os.WriteFile(filepath.Join(dir, "figures.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gen := &recordingGen{}
	p, err := NewPipeline(gen, Config{Model: "m", Tasks: []TaskSpec{{Task: "mcq", Length: "short", N: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for in, err := range ExtractDir(dir) {
		if err != nil {
			t.Fatal(err)
		}
		tc := tests[i]
		i++
		if tc.wantErr == "" {
			if in.ImageError != "" || string(in.Image) != string(png) {
				t.Errorf("%s: image error %q, %d bytes", tc.id, in.ImageError, len(in.Image))
			}
			continue
		}
		if in.Image != nil || !strings.Contains(in.ImageError, tc.wantErr) || !strings.Contains(in.ImageError, tc.id) {
			t.Errorf("%s: image error %q (%d bytes); want one naming the file with %q", tc.id, in.ImageError, len(in.Image), tc.wantErr)
		}
		out, err := p.Process(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Rejects) != 1 || out.Rejects[0].Reason != "bad_image" || !strings.Contains(out.Rejects[0].Detail, tc.id) {
			t.Errorf("%s: rejects %+v, want one bad_image naming the file", tc.id, out.Rejects)
		}
	}
	if i != len(tests) {
		t.Fatalf("%d figures read, want %d", i, len(tests))
	}
	if len(gen.reqs) != 0 {
		t.Errorf("%d requests sent for figures whose images are bad", len(gen.reqs))
	}
	// Bytes handed in directly (a dataset record) are checked against their format too.
	out, err := p.Process(context.Background(), FigureInput{Figure: shards.Figure{ID: "rec", Caption: "A caption.",
		Image: shards.ImageInfo{Format: "png"}}, Image: secret})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Rejects) != 1 || out.Rejects[0].Reason != "bad_image" {
		t.Errorf("non-image bytes of a record: rejects %+v", out.Rejects)
	}
	enc := base64.StdEncoding.EncodeToString(secret)
	for _, r := range gen.reqs {
		if strings.Contains(r, enc) {
			t.Error("the secret file was sent to the model server")
		}
	}
}
