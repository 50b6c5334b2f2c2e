package main

import (
	"fmt"
	"os"

	"github.com/berth-dev/berth/guest/container"
)

// hiddenMode runs the modes of this binary that users never call: "shim"
// is a container's shim, which the engine starts by re-executing itself.
// Otherwise it prepares the host for crun (container.PrepareHost, which
// may re-execute the agent in the engine's mount namespace) and reports
// that main should go on.
func hiddenMode() (handled bool, code int) {
	if len(os.Args) > 1 && os.Args[1] == "shim" {
		return true, container.RunShim(os.Args[2:])
	}
	if err := container.PrepareHost(); err != nil {
		fmt.Fprintf(os.Stderr, "berth-agent: %v\n", err)
		return true, 1
	}
	return false, 0
}
