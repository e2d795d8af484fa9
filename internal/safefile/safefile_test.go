package safefile

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

var pngBytes = []byte("\x89PNG\r\n\x1a\n rest of a png")

// tree makes root/images/{ok.png, inner.png → ok.png, passwd.png → outside file, up.png →
// ../secret}, root/linkdir → a directory outside, root/fifo.png (a FIFO) and an outside secret.
func tree(t *testing.T) (root, secret string) {
	t.Helper()
	base := t.TempDir()
	root = filepath.Join(base, "extract")
	secret = filepath.Join(base, "secret")
	for _, d := range []string{filepath.Join(root, "images"), filepath.Join(base, "outside")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(secret, []byte("root:x:0:0:root:/root:/bin/bash\n"), 0o644))
	must(os.WriteFile(filepath.Join(base, "outside", "x.png"), pngBytes, 0o644))
	must(os.WriteFile(filepath.Join(root, "images", "ok.png"), pngBytes, 0o644))
	must(os.Symlink("ok.png", filepath.Join(root, "images", "inner.png")))
	must(os.Symlink(secret, filepath.Join(root, "images", "passwd.png")))
	must(os.Symlink("../../secret", filepath.Join(root, "images", "up.png")))
	must(os.Symlink(filepath.Join(base, "outside"), filepath.Join(root, "linkdir")))
	must(syscall.Mkfifo(filepath.Join(root, "images", "fifo.png"), 0o644))
	return root, secret
}

func TestReadFile(t *testing.T) {
	root, _ := tree(t)
	tests := []struct {
		rel     string
		limit   int64
		wantErr error // nil: reads pngBytes
	}{
		{"images/ok.png", 1 << 20, nil},
		{"images/inner.png", 1 << 20, nil}, // a symlink that stays inside
		{"images/passwd.png", 1 << 20, ErrOutside},
		{"images/up.png", 1 << 20, ErrOutside},
		{"linkdir/x.png", 1 << 20, ErrOutside},
		{"../secret", 1 << 20, ErrOutside},
		{"/etc/passwd", 1 << 20, ErrOutside},
		{"images/fifo.png", 1 << 20, ErrNotRegular},
		{"images", 1 << 20, ErrNotRegular},
		{"images/missing.png", 1 << 20, fs.ErrNotExist},
		{"images/ok.png", 4, ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.rel, func(t *testing.T) {
			b, err := ReadFile(root, tc.rel, tc.limit)
			if tc.wantErr == nil {
				if err != nil || string(b) != string(pngBytes) {
					t.Fatalf("ReadFile: %q, %v", b, err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ReadFile: err %v, want %v", err, tc.wantErr)
			}
			if b != nil {
				t.Errorf("ReadFile returned %d bytes with its error", len(b))
			}
			if base := filepath.Base(tc.rel); !strings.Contains(err.Error(), base) {
				t.Errorf("error %q does not name %s", err, base)
			}
			if strings.Contains(err.Error(), "root:x:0") {
				t.Errorf("error leaks the file: %q", err)
			}
		})
	}
	if _, err := Stat(root, "images/passwd.png"); !errors.Is(err, ErrOutside) {
		t.Errorf("Stat of a symlink out: %v", err)
	}
	if fi, err := Stat(root, "images/inner.png"); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("Stat of a symlink inside: %v %v", fi, err)
	}
}

func TestCheckImage(t *testing.T) {
	jpeg := []byte("\xff\xd8\xff\xe0 jfif")
	sum := sha256.Sum256(pngBytes)
	sha := hex.EncodeToString(sum[:])
	tests := []struct {
		name   string
		b      []byte
		format string
		sha    string
		want   string // substring of the error; "" for none
	}{
		{"png", pngBytes, "png", "", ""},
		{"png by extension", pngBytes, ".PNG", sha, ""},
		{"jpeg as jpg", jpeg, "jpg", "", ""},
		{"unknown format, image bytes", pngBytes, "", "", ""},
		{"passwd", []byte("root:x:0:0:root:/root:/bin/bash\n"), "png", "", "not an image (no png magic bytes)"},
		{"empty", nil, "png", "", "empty image"},
		{"wrong format", jpeg, "png", "", "holds jpeg bytes, not png"},
		{"wrong sha", pngBytes, "png", strings.Repeat("0", 64), "sha256"},
		{"sha any case", pngBytes, "png", strings.ToUpper(sha), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckImage("images/x.png", tc.b, tc.format, tc.sha)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("CheckImage: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "images/x.png") {
				t.Fatalf("CheckImage: %v, want an error naming images/x.png with %q", err, tc.want)
			}
		})
	}
}
