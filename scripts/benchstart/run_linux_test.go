package main

import (
	"reflect"
	"testing"
)

func TestWithoutEnv(t *testing.T) {
	got := withoutEnv([]string{"PATH=/bin", "BERTH_HOME=/x", "BERTH_MACHINE=m", "BERTH_HOMEX=1", "EMPTY"}, "BERTH_HOME", "BERTH_MACHINE")
	want := []string{"PATH=/bin", "BERTH_HOMEX=1", "EMPTY"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("withoutEnv = %q, want %q", got, want)
	}
}

func TestLines(t *testing.T) {
	got := lines("-P FORWARD ACCEPT\n\n  \n-N DOCKER\n")
	want := []string{"-P FORWARD ACCEPT", "-N DOCKER"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("lines = %q, want %q", got, want)
	}
}
