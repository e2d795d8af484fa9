//go:build unix

package storage

import (
	"fmt"
	"os"
	"syscall"
)

// lockFile takes an exclusive advisory lock on f (flock), waiting for it. The kernel releases
// it when the file is closed or the process dies, so a killed writer leaves no stale lock.
func lockFile(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) {
		for {
			lerr = syscall.Flock(int(fd), syscall.LOCK_EX)
			if lerr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	if lerr != nil {
		return fmt.Errorf("flock: %w", lerr)
	}
	return nil
}
