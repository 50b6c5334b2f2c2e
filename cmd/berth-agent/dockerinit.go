//go:build linux

package main

import (
	"os"

	"github.com/containerd/log"

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

// initPath is this binary, which is also docker's --init when it is static
// (runAsDockerInit); "" (--init unavailable, said in the log) otherwise.
func initPath() string {
	exe, err := os.Executable()
	if err == nil {
		err = dockerinit.CheckStatic(exe)
	}
	if err != nil {
		log.L.WithError(err).Warn("--init is unavailable")
		return ""
	}
	return exe
}
