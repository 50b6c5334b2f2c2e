package machine

import (
	"os"
	"runtime"

	"github.com/berth-dev/berth/host/driver"
	"github.com/berth-dev/berth/host/driver/hcs"
	"github.com/berth-dev/berth/host/driver/native"
	"github.com/berth-dev/berth/host/driver/qemu"
	"github.com/berth-dev/berth/host/driver/vz"
	"github.com/berth-dev/berth/host/share"
)

// Drivers returns the registry of the drivers in this build.
func Drivers() *driver.Registry {
	home, _ := os.UserHomeDir()
	shares := share.DefaultShares(runtime.GOOS, home)
	return driver.NewRegistry(native.Factory{},
		vz.Factory{Shares: shares, Home: os.Getenv("BERTH_HOME")},
		hcs.Factory{Shares: shares, Home: os.Getenv("BERTH_HOME")},
		qemu.Factory{Shares: qemu.DefaultShares(runtime.GOOS, home), Home: os.Getenv("BERTH_HOME")})
}
