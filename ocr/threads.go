package ocr

import (
	"fmt"
	"log/slog"
	"os"
	"syscall"
)

// Tesseract parallelises with OpenMP, and on small machines its threads make a page several
// times slower than one thread does; parallelism belongs to the pipeline (one engine per
// worker). OpenMP reads OMP_THREAD_LIMIT once, when the process loads it, before any Go code
// runs, so setting the variable later has no effect. A process whose environment lacks it
// therefore starts itself again, once, with OMP_THREAD_LIMIT=1 added, before anything else of
// the program has run (package initialisation). Set OMP_THREAD_LIMIT yourself to choose
// another limit, or EOSIN_OCR_NO_REEXEC=1 to keep the process as it is.
func init() {
	if err := reexecWithThreadLimit(); err != nil {
		slog.Warn("ocr: could not restart with OMP_THREAD_LIMIT=1; Tesseract will be slow", "err", err)
	}
}

const reexecMarker = "EOSIN_OCR_REEXEC"

func reexecWithThreadLimit() error {
	if _, set := os.LookupEnv("OMP_THREAD_LIMIT"); set {
		return nil
	}
	if ThreadLimit() <= 1 || os.Getenv("EOSIN_OCR_NO_REEXEC") != "" || os.Getenv(reexecMarker) != "" {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find executable: %w", err)
	}
	env := append(os.Environ(), "OMP_THREAD_LIMIT=1", reexecMarker+"=1")
	if err := syscall.Exec(exe, os.Args, env); err != nil {
		return fmt.Errorf("exec %s: %w", exe, err)
	}
	return nil // not reached
}
