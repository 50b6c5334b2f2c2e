//go:build !darwin

package vz

import (
	"context"
	"strings"
	"testing"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/driver"
)

// TestStubErrors: off macOS every operation that needs a VM says why, and
// Stop and Delete are harmless.
func TestStubErrors(t *testing.T) {
	err := Factory{}.Available()
	if !errdefs.IsNotImplemented(err) || !strings.Contains(err.Error(), "vz driver runs only on macOS") {
		t.Errorf("Available = %v", err)
	}
	d, _ := Factory{}.New(driver.Instance{Name: "m"})
	ctx := context.Background()
	if _, err := d.Start(ctx); !errdefs.IsNotImplemented(err) {
		t.Errorf("Start = %v", err)
	}
	if _, err := d.DialAgent(ctx); !errdefs.IsNotImplemented(err) {
		t.Errorf("DialAgent = %v", err)
	}
	if err := d.Stop(ctx); err != nil {
		t.Errorf("Stop = %v", err)
	}
	if err := d.Delete(ctx); err != nil {
		t.Errorf("Delete = %v", err)
	}
}
