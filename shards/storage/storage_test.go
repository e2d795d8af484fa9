package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestValidKey(t *testing.T) {
	for key, ok := range map[string]bool{
		"v1/wds/shard-000000.tar": true, "LATEST": true,
		"": false, "/abs": false, "../x": false, "a/../../x": false, "a//b": false, "a/./b": false,
		"a\\b": false, "a/": false,
	} {
		if err := ValidKey(key); (err == nil) != ok {
			t.Errorf("ValidKey(%q) = %v", key, err)
		}
	}
}

func TestLocal(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	dir := filepath.Join(parent, "ds")
	s, err := OpenLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w, err := s.Create(ctx, "v1/a/obj")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("hello"))
	if _, err := s.Stat(ctx, "v1/a/obj"); !errors.Is(err, ErrNotExist) {
		t.Fatalf("object visible before commit: %v", err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadAll(ctx, s, "v1/a/obj"); err != nil || string(b) != "hello" {
		t.Fatalf("read: %q %v", b, err)
	}
	if err := s.PutIfAbsent(ctx, "v1/m", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutIfAbsent(ctx, "v1/m", []byte("2")); !errors.Is(err, ErrExist) {
		t.Fatalf("second create-only write: %v", err)
	}
	if b, _ := ReadAll(ctx, s, "v1/m"); string(b) != "1" {
		t.Fatalf("create-only write replaced the object: %q", b)
	}
	w, _ = s.Create(ctx, "v1/aborted")
	w.Write([]byte("x"))
	w.Abort()
	ls, err := s.List(ctx, "v1")
	if err != nil || len(ls) != 2 || !ls[0].Dir || ls[1].Key != "v1/m" {
		t.Fatalf("list (temporary files must not show): %+v %v", ls, err)
	}
	// Nothing reaches outside the directory: not keys, not symbolic links inside it.
	if err := os.Symlink(parent, filepath.Join(dir, "escape")); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"../x", "escape/x", "/x"} {
		if err := s.Put(ctx, key, []byte("x")); err == nil {
			t.Errorf("Put(%q) succeeded", key)
		}
		if _, err := s.Open(ctx, key); err == nil {
			t.Errorf("Open(%q) succeeded", key)
		}
	}
	if _, err := os.Stat(filepath.Join(parent, "x")); err == nil {
		t.Fatal("a file was written outside the store")
	}
}

func TestOpenLocation(t *testing.T) {
	ctx := context.Background()
	if _, err := Open(ctx, "gs://bucket/x", S3Config{}); err == nil {
		t.Fatal("gs:// accepted")
	}
	if _, err := Open(ctx, "s3:///x", S3Config{}); err == nil {
		t.Fatal("s3 without bucket accepted")
	}
	c := S3Config{Endpoint: "h:1", AccessKey: "AKIA", SecretKey: "very-secret"}
	if s := c.String(); contains(s, "very-secret") || contains(s, "AKIA") {
		t.Fatalf("String leaks credentials: %s", s)
	}
}

func contains(s, sub string) bool {
	return len(sub) > 0 && len(s) >= len(sub) && (s == sub || indexOf(s, sub) >= 0)
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}
