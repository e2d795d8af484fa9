//go:build !extlib

package extract

import "testing"

// TestBuiltWithExtlib fails builds without -tags extlib: they link go-fitz's bundled MuPDF,
// whose libjpeg breaks JPEG decoding in Leptonica (see TestSystemLibJPEG).
func TestBuiltWithExtlib(t *testing.T) {
	t.Fatal("extract must be built with -tags extlib (GOFLAGS=-tags=extlib, as the Makefile sets)")
}
