//go:build !unix

package storage

import "os"

// lockFile does nothing where flock does not exist: Update is then atomic only against
// writers in this process (see Local.mu).
func lockFile(f *os.File) error { return nil }
