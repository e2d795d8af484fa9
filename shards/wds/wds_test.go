package wds

import (
	"archive/tar"
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestSplitName(t *testing.T) {
	for _, c := range []struct {
		name, key, ext string
		ok             bool
	}{
		{"a/b.seg.jpg", "a/b", "seg.jpg", true},
		{"k001.JSON", "k001", "json", true},
		{"k001.0.png", "k001", "0.png", true},
		{"dir.x/k.txt", "dir.x/k", "txt", true},
		{"nodot", "", "", false},
		{".hidden", "", "", false},
		{"trailing.", "", "", false},
	} {
		k, e, ok := SplitName(c.name)
		if k != c.key || e != c.ext || ok != c.ok {
			t.Errorf("SplitName(%q) = %q %q %v", c.name, k, e, ok)
		}
	}
}

func tarOf(t *testing.T, members ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range members {
		h := &tar.Header{Name: m, Mode: 0o644, Size: int64(len(m)), Typeflag: tar.TypeReg, Format: tar.FormatGNU}
		if strings.HasSuffix(m, "/") {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(m)[:h.Size])
	}
	tw.Close()
	return buf.Bytes()
}

func readAll(data []byte, opts ReaderOptions) ([]*Sample, error) {
	r := NewReader(bytes.NewReader(data), opts)
	var out []*Sample
	for {
		s, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, s)
	}
}

func TestWriterReader(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, DefaultModTime)
	for _, s := range []Sample{
		{Key: "a1", Members: map[string][]byte{"txt": []byte("cap"), "json": []byte("{}"), "png": {1, 2}}},
		{Key: "a2", Members: map[string][]byte{"json": []byte("{}"), "0.jpg": {3}, "1.png": {}}},
	} {
		if err := w.Write(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Write(Sample{Key: "bad.key", Members: map[string][]byte{"txt": nil}}); err == nil {
		t.Fatal("dotted key accepted")
	}
	if err := w.Write(Sample{Key: "k", Members: map[string][]byte{"../x": nil}}); err == nil {
		t.Fatal("extension with a slash accepted")
	}
	w.Close()
	tr := tar.NewReader(bytes.NewReader(buf.Bytes()))
	var names []string
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		if h.Mode != 0o444 || h.Uname != "bigdata" || !h.ModTime.Equal(DefaultModTime) || h.Format != tar.FormatUSTAR {
			t.Fatalf("header %+v", h)
		}
		names = append(names, h.Name)
	}
	if got := strings.Join(names, " "); got != "a1.json a1.png a1.txt a2.0.jpg a2.1.png a2.json" {
		t.Fatalf("member order: %s", got)
	}
	ss, err := readAll(buf.Bytes(), ReaderOptions{})
	if err != nil || len(ss) != 2 || len(ss[1].Members) != 3 || string(ss[0].Members["txt"]) != "cap" {
		t.Fatalf("read back: %v %+v", err, ss)
	}
}

func TestReaderHostile(t *testing.T) {
	good := tarOf(t, "k1.json", "k1.jpg", "k2.json")
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"dotdot", tarOf(t, "../x"), "unsafe path"},
		{"dotdot-ext", tarOf(t, "../x.json"), "unsafe path"},
		{"absolute", tarOf(t, "/etc/passwd.txt"), "unsafe path"},
		{"not-adjacent", tarOf(t, "k1.json", "k2.json", "k1.jpg"), "not adjacent"},
		{"repeated-ext", tarOf(t, "k1.json", "k1.JSON"), "repeated"},
		{"bad-key", tarOf(t, "k 1.json"), "sample key"},
		{"truncated-in-padding", good[:len(good)-1024-300], "truncated"},
		{"truncated-at-member", good[:len(good)-1024], "truncated"},
		{"truncated-in-end-blocks", good[:len(good)-512], "truncated"},
		{"truncated-in-data", good[:len(good)-1024-512-505+3], "truncated"},
		{"garbage", []byte(strings.Repeat("x", 1000)), "tar member"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := readAll(c.data, ReaderOptions{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
	if ss, err := readAll(tarOf(t, "__meta__.json", "dir/", "k1.json", "nodot"), ReaderOptions{}); err != nil || len(ss) != 1 {
		t.Fatalf("skippable members: %v %d", err, len(ss))
	}
	if _, err := readAll(tarOf(t, "sub/k-1.json"), ReaderOptions{AnyKeys: true}); err != nil {
		t.Fatalf("AnyKeys: %v", err)
	}
}

func FuzzReader(f *testing.F) {
	var buf bytes.Buffer
	w := NewWriter(&buf, DefaultModTime)
	w.Write(Sample{Key: "a", Members: map[string][]byte{"json": []byte("{}"), "jpg": {1}}})
	w.Close()
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), ReaderOptions{MaxMemberSize: 1 << 20})
		for i := 0; i < 1000; i++ {
			if _, err := r.Next(); err != nil {
				return
			}
		}
	})
}
