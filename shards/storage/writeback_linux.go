package storage

import (
	"os"
	"syscall"
)

// startWriteback asks the kernel to start writing the given range of f to disk without waiting
// for it (sync_file_range with SYNC_FILE_RANGE_WRITE), so that the fsync at Commit finds most
// of the file already written. It is a hint: errors are ignored.
func startWriteback(f *os.File, off, n int64) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = syscall.SyncFileRange(int(fd), off, n, 0x2) // SYNC_FILE_RANGE_WRITE
	})
}
