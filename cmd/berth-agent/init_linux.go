package main

import (
	"os"

	guestinit "github.com/berth-dev/berth/guest/init"
)

// runAsInit runs the agent as the VM's PID 1 (guest/init) when the kernel
// started it as init; init starts this binary again as the engine.
func runAsInit() bool {
	if os.Getpid() != 1 {
		return false
	}
	_ = guestinit.Main() // powers the VM off; never returns as PID 1
	select {}
}
