package hostmem

import (
	"unsafe"

	"golang.org/x/sys/windows"
)

// memoryStatusEx is MEMORYSTATUSEX.
type memoryStatusEx struct {
	Length, MemoryLoad                          uint32
	TotalPhys, AvailPhys                        uint64
	TotalPageFile, AvailPageFile                uint64
	TotalVirtual, AvailVirtual, AvailExtVirtual uint64
}

var procGlobalMemoryStatusEx = windows.NewLazySystemDLL("kernel32.dll").NewProc("GlobalMemoryStatusEx")

// Total is the PC's physical memory in bytes, 0 when unknown.
func Total() int64 {
	ms := memoryStatusEx{}
	ms.Length = uint32(unsafe.Sizeof(ms))
	if r, _, _ := procGlobalMemoryStatusEx.Call(uintptr(unsafe.Pointer(&ms))); r == 0 {
		return 0
	}
	return int64(ms.TotalPhys)
}
