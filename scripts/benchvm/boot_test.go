//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMilestones(t *testing.T) {
	log := "[    0.000000] Linux version 6.1\n" +
		"[    6.864578] berth-init: start uptime=6.863s\n" +
		"[   18.690766] berth-init: agent serving uptime=18.691s\n" +
		"[   30.000000] berth-init: power off uptime=30.000s\n" +
		"[    1.500000] berth-init: start uptime=1.500s\n" +
		"[    1.600000] berth-init: transport modules: 6 in 95ms uptime=1.600s\n" +
		"[    2.000000] berth-init: engine setup: disk, shares and 30 modules in 500ms (slowest: ext4=90ms) uptime=2.000s\n" +
		"[    2.250000] berth-init: agent serving uptime=2.250s\n"
	path := filepath.Join(t.TempDir(), "console.log")
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	second := int64(strings.Index(log, "[    1.500000]"))
	ms := time.Millisecond
	for _, tc := range []struct {
		name    string
		offset  int64
		want    marks
		wantErr bool
	}{
		{"first boot, an init without stage lines", 0, marks{init: 6863 * ms, serving: 18691 * ms}, false},
		{"second boot", second, marks{init: 1500 * ms, transport: 1600 * ms, setup: 2000 * ms, serving: 2250 * ms}, false},
		{"nothing new", int64(len(log)), marks{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mk, err := milestones(path, tc.offset)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if mk != tc.want {
				t.Errorf("milestones = %+v; want %+v", mk, tc.want)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{[]time.Duration{3, 1, 2}, 2},
		{[]time.Duration{4, 1, 3, 2}, 2},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
