package main

import (
	"go/types"
	"strings"
	"testing"
)

const vzDir = "../../host/driver/vz"

func TestCheckRealPackage(t *testing.T) {
	for _, arch := range []string{"arm64", "amd64"} {
		t.Run(arch, func(t *testing.T) {
			errs, err := Check(Options{Dir: vzDir, GOOS: "darwin", GOARCH: arch})
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			for _, e := range errs {
				t.Errorf("type error: %v", e)
			}
		})
	}
}

// TestCheckCatchesWrongCalls feeds the checker files with calls that do not
// match vz v3.7.1's API; each must be reported.
func TestCheckCatchesWrongCalls(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{name: "missing argument", body: `_, _ = vz.NewVirtualMachineConfiguration(nil, 1)`, want: "not enough arguments"},
		{name: "wrong argument type", body: `_, _ = vz.NewLinuxBootLoader(42)`, want: "cannot use 42"},
		{name: "no such function", body: `_, _ = vz.NewVirtioSocketDevice()`, want: "undefined: vz.NewVirtioSocketDevice"},
		{name: "no such method", body: `var vm *vz.VirtualMachine; _ = vm.StartNow()`, want: "StartNow"},
		{name: "wrong result count", body: `var s *vz.VirtioSocketDevice; c := s.Connect(1024); _ = c`, want: "assignment mismatch"},
		{name: "wrong type", body: `var n int = vz.VirtualMachineStateStopped; _ = n`, want: "cannot use vz.VirtualMachineStateStopped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "//go:build darwin && cgo\n\npackage vz\n\nimport \"github.com/Code-Hex/vz/v3\"\n\nfunc wrongCall() {\n\t" + tt.body + "\n}\n"
			errs, err := Check(Options{Dir: vzDir, GOOS: "darwin", GOARCH: "arm64",
				Overlay: map[string]string{"zz_wrong_darwin.go": src}})
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			var msgs []string
			for _, e := range errs {
				msgs = append(msgs, e.Error())
			}
			all := strings.Join(msgs, "\n")
			if !strings.Contains(all, tt.want) || !strings.Contains(all, "zz_wrong_darwin.go") {
				t.Errorf("errors = %q, want one in zz_wrong_darwin.go containing %q", all, tt.want)
			}
		})
	}
}

func TestCheckMissingPackage(t *testing.T) {
	if _, err := Check(Options{Dir: "does-not-exist", GOOS: "darwin", GOARCH: "arm64"}); err == nil {
		t.Errorf("Check of a missing dir succeeded")
	}
}

func TestHasInvalid(t *testing.T) {
	invalid := types.Typ[types.Invalid]
	tests := []struct {
		name string
		typ  types.Type
		want bool
	}{
		{"int", types.Typ[types.Int], false},
		{"invalid", invalid, true},
		{"pointer to invalid", types.NewPointer(invalid), true},
		{"func returning invalid", types.NewSignatureType(nil, nil, nil, nil,
			types.NewTuple(types.NewVar(0, nil, "", invalid)), false), true},
		{"func of ints", types.NewSignatureType(nil, nil, nil,
			types.NewTuple(types.NewVar(0, nil, "", types.Typ[types.Int])), nil, false), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hasInvalid(tt.typ, map[types.Type]bool{}); got != tt.want {
				t.Errorf("hasInvalid = %v, want %v", got, tt.want)
			}
		})
	}
}
