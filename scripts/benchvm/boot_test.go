//go:build linux

package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestMilestones(t *testing.T) {
	log := "[    0.000000] Linux version 6.1\n" +
		"[    6.864578] berth-init: start uptime=6.863s\n" +
		"[   18.690766] berth-init: agent serving uptime=18.691s\n" +
		"[   30.000000] berth-init: power off uptime=30.000s\n" +
		"[    1.500000] berth-init: start uptime=1.500s\n" +
		"[    2.250000] berth-init: agent serving uptime=2.250s\n"
	path := filepath.Join(t.TempDir(), "console.log")
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	second := int64(len(log) - len("[    1.500000] berth-init: start uptime=1.500s\n[    2.250000] berth-init: agent serving uptime=2.250s\n"))
	for _, tc := range []struct {
		name          string
		offset        int64
		init, serving time.Duration
		wantErr       bool
	}{
		{"first boot", 0, 6863 * time.Millisecond, 18691 * time.Millisecond, false},
		{"second boot", second, 1500 * time.Millisecond, 2250 * time.Millisecond, false},
		{"nothing new", int64(len(log)), 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i, s, err := milestones(path, tc.offset)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if !tc.wantErr && (i != tc.init || s != tc.serving) {
				t.Errorf("milestones = %s, %s; want %s, %s", i, s, tc.init, tc.serving)
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
