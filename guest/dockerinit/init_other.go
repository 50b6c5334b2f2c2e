//go:build !linux

package dockerinit

import (
	"fmt"
	"os"
	"runtime"
)

// Main fails: the init runs only inside Linux containers.
func Main(args []string) int {
	fmt.Fprintf(os.Stderr, "%s: runs only inside Linux containers (this is %s)\n", Name, runtime.GOOS)
	return 1
}
