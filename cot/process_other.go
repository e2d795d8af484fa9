//go:build !unix

package cot

// processAlive cannot tell here whether a process exists: it assumes it does, so that a
// reservation is never taken from a run that may still be running.
func processAlive(pid int) bool { return pid > 0 }
