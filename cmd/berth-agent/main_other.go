//go:build !linux

// Command berth-agent is berth's container engine. It runs only on Linux:
// inside berth's VM, or natively on a Linux host.
package main

import (
	"fmt"
	"os"
	"runtime"
)

func main() {
	fmt.Fprintf(os.Stderr, "berth-agent runs only on Linux (inside berth's VM); this build is for %s\n", runtime.GOOS)
	os.Exit(1)
}
