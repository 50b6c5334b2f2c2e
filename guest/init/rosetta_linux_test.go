//go:build linux

package guestinit

import (
	"strconv"
	"strings"
	"testing"
)

// TestRosettaBinfmt checks the registration's fields: name, type M, offset
// 0, magic and mask of the same length that select x86_64 ELF executables
// and shared objects, the interpreter, and the OCF flags.
func TestRosettaBinfmt(t *testing.T) {
	s := rosettaBinfmt("/run/berth/rosetta/rosetta")
	f := strings.Split(s, ":")
	if len(f) != 8 || f[0] != "" {
		t.Fatalf("registration %q: %d fields, want 7 after a leading ':'", s, len(f)-1)
	}
	if f[1] != "rosetta" || f[2] != "M" || f[3] != "" || f[6] != "/run/berth/rosetta/rosetta" || f[7] != "OCF" {
		t.Fatalf("registration %q: name, type, offset, interpreter or flags wrong", s)
	}
	magic, mask := unescape(t, f[4]), unescape(t, f[5])
	if len(magic) != 20 || len(mask) != 20 {
		t.Fatalf("magic %d bytes, mask %d bytes; want 20 each", len(magic), len(mask))
	}
	match := func(hdr []byte) bool {
		for i := range magic {
			if hdr[i]&mask[i] != magic[i]&mask[i] {
				return false
			}
		}
		return true
	}
	elf := func(class, data, etype, machine byte) []byte {
		h := []byte{0x7f, 'E', 'L', 'F', class, data, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, etype, 0, machine, 0}
		return h
	}
	for _, tc := range []struct {
		name string
		hdr  []byte
		want bool
	}{
		{"x86_64 executable", elf(2, 1, 2, 0x3e), true},
		{"x86_64 shared object (PIE)", elf(2, 1, 3, 0x3e), true},
		{"arm64 executable", elf(2, 1, 2, 0xb7), false},
		{"i386 executable", elf(1, 1, 2, 0x03), false},
		{"x86_64 relocatable object", elf(2, 1, 1, 0x3e), false},
		{"not ELF", []byte("#!/bin/sh\necho hi\n\x00\x00"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := match(tc.hdr); got != tc.want {
				t.Errorf("matches = %v, want %v", got, tc.want)
			}
		})
	}
}

func unescape(t *testing.T, s string) []byte {
	t.Helper()
	var b []byte
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], `\x`) && i+4 <= len(s) {
			n, err := strconv.ParseUint(s[i+2:i+4], 16, 8)
			if err != nil {
				t.Fatalf("bad escape in %q at %d", s, i)
			}
			b = append(b, byte(n))
			i += 4
			continue
		}
		b = append(b, s[i])
		i++
	}
	return b
}
