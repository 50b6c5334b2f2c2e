package qemu

import (
	"runtime"
	"testing"

	"github.com/berth-dev/berth/host/driver/bootimage"
)

// TestPVHRealKernel: the VM image's amd64 kernel (BERTH_TEST_VMIMAGE)
// decompresses and has the PVH entry the driver boots.
func TestPVHRealKernel(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skipf("PVH boot is for amd64 guests, this is %s", runtime.GOARCH)
	}
	img, err := bootimage.Open(testImageDir(t))
	if err != nil {
		t.Fatal(err)
	}
	p, err := pvhKernel(img.Kernel, t.TempDir())
	if err != nil {
		t.Fatalf("pvhKernel(%s): %v", img.Kernel, err)
	}
	t.Logf("decompressed %s to %s", img.Kernel, p)
}
