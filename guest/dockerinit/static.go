package dockerinit

import (
	"debug/elf"
	"fmt"
)

// CheckStatic reports whether the program at path can serve as the init
// of any container: an ELF binary with no program interpreter, so it runs
// in images without a C library. berth-agent built with CGO_ENABLED=0 is.
func CheckStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("init %s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("init %s is dynamically linked: it would not run in containers without its C library (build it with CGO_ENABLED=0)", path)
		}
	}
	return nil
}
