package steptimer

import (
	"context"
	"regexp"
	"testing"

	"github.com/containerd/log"
)

func TestSteps(t *testing.T) {
	old := log.GetLevel()
	t.Cleanup(func() { log.SetLevel(old.String()) })

	log.SetLevel("info")
	s := New(context.Background(), "create", "0123456789abcdef")
	s.Done("image")
	if l := s.Line(); l != "" {
		t.Errorf("below debug level: line %q, want none", l)
	}

	log.SetLevel("debug")
	s = New(context.Background(), "create", "")
	s.Done("image")
	s.SetID("0123456789abcdef")
	s.Done("mounts")
	want := regexp.MustCompile(`^create 0123456789ab: image \d+\.\dms, mounts \d+\.\dms \(total \d+\.\dms\)$`)
	if l := s.Line(); !want.MatchString(l) {
		t.Errorf("line %q, want it to match %s", l, want)
	}
}
