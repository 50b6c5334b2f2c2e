//go:build linux

package main

import (
	"os"

	"github.com/berth-dev/berth/guest/dockerinit"
)

// runAsDockerInit runs this binary as docker's --init when it was started
// as /sbin/docker-init inside a container (the engine bind-mounts itself
// there). It must be checked before anything else: that init is the
// container's PID 1, which runAsInit would take for the VM's.
func runAsDockerInit() {
	if dockerinit.IsInvocation(os.Args[0]) {
		os.Exit(dockerinit.Main(os.Args[1:]))
	}
}
