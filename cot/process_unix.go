//go:build unix

package cot

import (
	"errors"
	"syscall"
)

// processAlive reports whether a process with this id exists on this host (one owned by
// another user included).
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
