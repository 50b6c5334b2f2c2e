//go:build windows

package hcs

import (
	"os"
	"strconv"
	"testing"

	"github.com/berth-dev/berth/host/driver"
	"github.com/berth-dev/berth/host/driver/drivertest"
	"github.com/berth-dev/berth/host/share"
	"github.com/berth-dev/berth/host/transport"
)

// TestDriverSuite boots real utility VMs. It needs Hyper-V and a VM image:
// set BERTH_VMIMAGE to the image's directory (hosted CI runners have no
// nested Hyper-V, so it is opt-in). BERTH_HVSOCK_DIRECTION=guest-dials
// runs it with the guest dialing the host.
func TestDriverSuite(t *testing.T) {
	img := os.Getenv("BERTH_VMIMAGE")
	if img == "" {
		t.Skip("set BERTH_VMIMAGE to a VM image dir on a Windows host with Hyper-V to boot real VMs")
	}
	f := Factory{ImageDirs: []string{img}, Shares: share.DefaultShares(share.Windows, "")}
	if os.Getenv("BERTH_HVSOCK_DIRECTION") == "guest-dials" {
		f.Direction = transport.GuestDials
	}
	if err := f.Available(); err != nil {
		t.Fatalf("Available: %v", err)
	}
	n := 0
	drivertest.Run(t, func(t *testing.T) driver.Driver {
		n++
		name := "hcstest" + strconv.Itoa(n)
		d, err := f.New(driver.Instance{Name: name, Dir: t.TempDir(), CPUs: 1, MemoryBytes: 1 << 30, DiskBytes: 2 << 30})
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
}
