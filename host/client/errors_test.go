package client

import "testing"

func TestCleanDaemonMessage(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"No such image: busybox:latest: not found", "No such image: busybox:latest"},
		{"rpc error: code = NotFound desc = No such image: x: not found", "No such image: x"},
		{"registry 127.0.0.1:1: dial tcp: connection refused: unavailable", "registry 127.0.0.1:1: dial tcp: connection refused"},
		{"conflict", "conflict"},
		{"plain message", "plain message"},
	} {
		if got := cleanDaemonMessage(tc.in); got != tc.want {
			t.Errorf("cleanDaemonMessage(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
