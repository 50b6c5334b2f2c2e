package machine

import (
	"github.com/berth-dev/berth/host/driver"
	"github.com/berth-dev/berth/host/driver/native"
)

// Drivers returns the registry of the drivers in this build.
func Drivers() *driver.Registry {
	return driver.NewRegistry(native.Factory{})
}
