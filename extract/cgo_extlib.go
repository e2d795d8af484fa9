//go:build cgo && extlib

package extract

// Link flags for Debian's MuPDF (libmupdf-dev), which go-fitz uses under the extlib build tag.
// Debian's libmupdf.a is built against the system codecs, so the whole dependency chain is named
// here; keeping the line in this package means go build, go test and go vet all get it.

/*
#cgo LDFLAGS: -lmupdf -lmupdf-third -lmujs -lgumbo -lopenjp2 -ljbig2dec -ljpeg -lz -lm -lfreetype -lharfbuzz
*/
import "C"
