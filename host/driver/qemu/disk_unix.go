//go:build unix

package qemu

import (
	"io/fs"
	"syscall"
)

// allocated returns the bytes a file's blocks take.
func allocated(fi fs.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int64(st.Blocks) * 512
	}
	return fi.Size()
}
