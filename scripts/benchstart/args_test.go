package main

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		check   func(o options) string // "" when fine
		wantErr string
	}{
		{"defaults are the issue's", nil, func(o options) string {
			if o.runs != 30 || o.concurrent != 50 || o.psContainers != 100 || o.psRuns != 10 || o.withDocker || o.berth != "bin/berth" || o.crun != "crun" {
				return "unexpected defaults"
			}
			if !o.phases["start"] || !o.phases["concurrent"] || !o.phases["ps"] {
				return "not every phase on"
			}
			return ""
		}, ""},
		{"double-dash flags", []string{"--with-docker", "--n", "5", "--phases", "start, ps"}, func(o options) string {
			if !o.withDocker || o.runs != 5 || !o.phases["start"] || !o.phases["ps"] || o.phases["concurrent"] {
				return "flags not applied"
			}
			return ""
		}, ""},
		{"zero concurrent skips", []string{"-concurrent", "0", "-ps-containers", "0"}, func(o options) string {
			if o.concurrent != 0 || o.psContainers != 0 {
				return "zeros not kept"
			}
			return ""
		}, ""},
		{"no runs", []string{"-n", "0"}, nil, "-n 0: need at least 1 run"},
		{"negative warm-up", []string{"-warmup", "-1"}, nil, "must not be negative"},
		{"negative concurrent", []string{"-concurrent", "-3"}, nil, "-concurrent -3"},
		{"no ps runs", []string{"-ps-runs", "0"}, nil, "-ps-runs 0"},
		{"empty berth", []string{"-berth", ""}, nil, "make build"},
		{"unknown phase", []string{"-phases", "start,boot"}, nil, `unknown part "boot"`},
		{"no phase", []string{"-phases", " , "}, nil, "nothing to run"},
		{"positional argument", []string{"busybox"}, nil, `unexpected argument "busybox"`},
		{"unknown flag", []string{"-rounds", "3"}, nil, "flag provided but not defined"},
		{"not a number", []string{"-n", "many"}, nil, "invalid value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseArgs(tc.args, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseArgs(%q) error = %v, want one containing %q", tc.args, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseArgs(%q): %v", tc.args, err)
			}
			if msg := tc.check(o); msg != "" {
				t.Errorf("parseArgs(%q): %s: %+v", tc.args, msg, o)
			}
		})
	}
}

func TestParseArgsHelp(t *testing.T) {
	var sb strings.Builder
	_, err := parseArgs([]string{"-h"}, &sb)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("parseArgs(-h) error = %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{"usage: bench-start", "-with-docker", "-ps-containers"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, sb.String())
		}
	}
}
