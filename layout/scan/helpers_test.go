package scan_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/eosinlab/eosin/ocr"
)

// need returns path when it exists, and otherwise skips the test (fails it on CI).
func need(t testing.TB, path string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("test input missing on CI: %v", err)
		}
		t.Skipf("test input missing: %v", err)
	}
	return path
}

func corpus(t testing.TB, rel string) string {
	return need(t, filepath.Join("..", "..", "testdata", "cache", rel))
}

func shared(t testing.TB, rel string) string {
	return need(t, filepath.Join("..", "..", "..", "shared", "data", rel))
}

var (
	poolOnce sync.Once
	pool     *ocr.Pool
	poolErr  error
)

func testPool(t testing.TB) *ocr.Pool {
	t.Helper()
	poolOnce.Do(func() { pool, poolErr = ocr.NewPool(ocr.Config{Size: 2}) })
	if poolErr != nil {
		t.Fatal(poolErr)
	}
	return pool
}
