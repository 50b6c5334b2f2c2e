package client

import "testing"

func TestIsImageRef(t *testing.T) {
	for in, want := range map[string]bool{
		"ghcr.io/berth-dev/vmimage:v1-arm64":  true,
		"127.0.0.1:5000/berth/vmimage:test":   true,
		"reg.example/vm@sha256:0123456789abc": true,
		"bin/vm/amd64":                        false,
		"./vm":                                false,
		"/opt/berth/vm:1":                     false,
		"vmimage:v1":                          false,
		"":                                    false,
	} {
		if got := isImageRef(in); got != want {
			t.Errorf("isImageRef(%q) = %v, want %v", in, got, want)
		}
	}
}
