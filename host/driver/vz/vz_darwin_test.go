//go:build darwin && cgo

package vz

import (
	"os"
	"testing"

	"github.com/berth-dev/berth/host/driver"
	"github.com/berth-dev/berth/host/driver/drivertest"
)

// TestDriverSuite boots real VMs. It needs a signed test binary (the
// virtualization entitlement) and a VM image: set BERTH_VMIMAGE to the
// image's directory (opt-in; hosted macOS runners cannot nest VMs).
func TestDriverSuite(t *testing.T) {
	img := os.Getenv("BERTH_VMIMAGE")
	if img == "" {
		t.Skip("set BERTH_VMIMAGE to a VM image dir, and sign the test binary (packaging/macos/sign.sh), to boot real VMs")
	}
	f := Factory{ImageDirs: []string{img}, Shares: nil}
	if err := f.Available(); err != nil {
		t.Fatalf("Available: %v", err)
	}
	drivertest.Run(t, func(t *testing.T) driver.Driver {
		d, err := f.New(driver.Instance{Name: "vztest", Dir: t.TempDir(), CPUs: 1, MemoryBytes: 1 << 30, DiskBytes: 2 << 30})
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
}
