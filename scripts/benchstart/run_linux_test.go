package main

import (
	"errors"
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

func TestFirstOf(t *testing.T) {
	a, b := errors.New("a"), errors.New("b")
	for _, tc := range []struct {
		name string
		in   []error
		want string
	}{
		{"none", []error{nil, nil}, ""},
		{"one", []error{nil, a}, "a"},
		{"two", []error{nil, b, a}, "2 of 3 failed; the first: b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if err := firstOf(tc.in); err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("firstOf = %q, want %q", got, tc.want)
			}
		})
	}
}
