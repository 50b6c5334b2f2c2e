package network

import (
	"os"
	"testing"

	"github.com/containerd/log"
)

func TestMain(m *testing.M) {
	// The Manager logs each network it creates or removes at info level:
	// keep the test output to warnings and failures.
	_ = log.SetLevel("warn")
	os.Exit(m.Run())
}
