package extract

import (
	"debug/elf"
	"os"
	"strings"
	"testing"
)

// TestSystemLibJPEG keeps go-fitz's bundled MuPDF out of our binaries. Its static third-party
// archive carries its own libjpeg (version 9), whose jpeg_* symbols would then sit inside the
// executable and take precedence over Debian's libjpeg 6.2 that Leptonica (OCR) is built
// against, breaking every JPEG Leptonica decodes. Built with -tags extlib against Debian's
// libmupdf, jpeg_* must be imported from the shared libjpeg, never defined in the binary.
func TestSystemLibJPEG(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(exe)
	if err != nil {
		t.Skipf("not an ELF executable: %v", err)
	}
	defer f.Close()
	// go test links without a symbol table; when there is one, no jpeg_* function may be in it.
	syms, _ := f.Symbols()
	for _, s := range syms {
		if strings.HasPrefix(s.Name, "jpeg_") && s.Section != elf.SHN_UNDEF && elf.ST_TYPE(s.Info) == elf.STT_FUNC {
			t.Fatalf("%s is defined inside the binary: a bundled libjpeg is linked (build with -tags extlib, see shared/reference/native-libs.md)", s.Name)
		}
	}
	dyn, err := f.DynamicSymbols()
	if err != nil {
		t.Fatal(err)
	}
	imported := false
	for _, s := range dyn {
		if strings.HasPrefix(s.Name, "jpeg_") && s.Section == elf.SHN_UNDEF && strings.HasPrefix(s.Version, "LIBJPEG_6.2") {
			imported = true
		}
	}
	libs, _ := f.ImportedLibraries()
	if !imported || !strings.Contains(strings.Join(libs, " "), "libjpeg") {
		t.Errorf("libjpeg is not imported from the system library (imported libraries: %v)", libs)
	}
}
