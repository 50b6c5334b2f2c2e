//go:build !linux

// Command benchpull measures berth's image pull; it runs on Linux, where
// layers can be unpacked.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "benchpull: runs on Linux only (layers unpack into overlay lower dirs)")
	os.Exit(1)
}
