//go:build !linux

// Command benchforward measures berth's port-forward path; it runs on Linux,
// where the agent's forward side can run in the same process.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "benchforward: runs on Linux only (it runs the agent's forward path in-process)")
	os.Exit(1)
}
