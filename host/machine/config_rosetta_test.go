package machine

import (
	"errors"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

// TestValidateRosetta: --rosetta is for the vz driver only, refused for
// the others before anything is created; the driver instance carries it.
func TestValidateRosetta(t *testing.T) {
	for _, tc := range []struct {
		driver string
		ok     bool
	}{
		{"vz", true},
		{"qemu", false},
		{"native", false},
		{"hcs", false},
	} {
		t.Run(tc.driver, func(t *testing.T) {
			cfg := Config{Name: "m", Driver: tc.driver, Rosetta: true}.withDefaults()
			err := cfg.Validate()
			if tc.ok {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if inst := instance(&Machine{Name: "m", Config: cfg}, nil); !inst.Rosetta {
					t.Error("the driver instance lost Rosetta")
				}
				return
			}
			if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "--rosetta needs the vz driver") {
				t.Fatalf("Validate = %v, want an invalid-argument error about --rosetta", err)
			}
		})
	}
}
