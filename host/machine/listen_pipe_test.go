package machine

import (
	"strings"
	"testing"
)

func TestPipeName(t *testing.T) {
	base := PipeName(`C:\Users\jane\.berth\machines`, "default")
	if !strings.HasPrefix(base, `\\.\pipe\berth-`) || !strings.HasSuffix(base, "-default") {
		t.Fatalf("PipeName = %q, want \\\\.\\pipe\\berth-<hash>-default", base)
	}
	if n := len(base) - len(`\\.\pipe\berth-`) - len("-default"); n != 12 {
		t.Fatalf("PipeName = %q: hash of %d characters, want 12", base, n)
	}
	for _, tc := range []struct {
		name, dir, machine string
		same               bool
	}{
		{"same dir", `C:\Users\jane\.berth\machines`, "default", true},
		{"case differs", `c:\users\JANE\.berth\Machines`, "default", true},
		{"forward slashes", `C:/Users/jane/.berth/machines`, "default", true},
		{"trailing separator", `C:\Users\jane\.berth\machines\`, "default", true},
		{"other home", `D:\berth\machines`, "default", false},
		{"other user", `C:\Users\john\.berth\machines`, "default", false},
		{"other machine", `C:\Users\jane\.berth\machines`, "dev", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := PipeName(tc.dir, tc.machine)
			if (got == base) != tc.same {
				t.Errorf("PipeName(%q, %q) = %q; same as %q: %v, want %v", tc.dir, tc.machine, got, base, got == base, tc.same)
			}
		})
	}
	if a, b := PipeName(`C:\`, "m"), PipeName(`C:`, "m"); a == b {
		t.Errorf("the drive root and the drive's current dir share pipe %q", a)
	}
}
