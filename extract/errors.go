package extract

import (
	"errors"
	"fmt"
)

// Sentinel errors. Callers test them with errors.Is and turn them into reject reasons.
var (
	// ErrEncrypted means the document is encrypted and cannot be opened with the empty user
	// password (or the password given with WithPassword), or uses an unsupported security handler.
	ErrEncrypted = errors.New("pdf is encrypted")
	// ErrCorrupt means the file is not a readable PDF, or a page's structure is broken.
	ErrCorrupt = errors.New("pdf is corrupt")
	// ErrLimit means a resource limit (see Limits) was exceeded.
	ErrLimit = errors.New("pdf exceeds a limit")
	// ErrPageRange means a page number outside 1..NumPages was asked for.
	ErrPageRange = errors.New("page out of range")
)

// LimitError tells which limit was exceeded. It matches ErrLimit with errors.Is.
type LimitError struct {
	Limit string // name of the Limits field
	Value int64  // the value met (or a lower bound of it)
	Max   int64  // the configured maximum
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s: %d exceeds the maximum %d", e.Limit, e.Value, e.Max)
}

// Is makes errors.Is(err, ErrLimit) true for a *LimitError.
func (e *LimitError) Is(target error) bool { return target == ErrLimit }
