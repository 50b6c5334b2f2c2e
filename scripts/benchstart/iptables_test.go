package main

import (
	"reflect"
	"testing"
)

func TestForwardPolicy(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rules  []string
		want   string
		wantOK bool
	}{
		{"accept", []string{"-P INPUT ACCEPT", "-P FORWARD ACCEPT", "-P OUTPUT ACCEPT"}, "ACCEPT", true},
		{"drop", []string{"-P FORWARD DROP", "-A FORWARD -j DOCKER-USER"}, "DROP", true},
		{"missing", []string{"-P INPUT ACCEPT"}, "", false},
		{"a rule is not the policy", []string{"-A FORWARD -j DROP"}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := forwardPolicy(tc.rules)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("forwardPolicy = %q, %v, want %q, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestDockerCleanup(t *testing.T) {
	before := []string{
		"-P INPUT ACCEPT", "-P FORWARD ACCEPT", "-P OUTPUT ACCEPT",
		"-N DOCKER-USER", "-A DOCKER-USER -j RETURN", // a user's, from an earlier docker
		"-A FORWARD -i lan0 -j ACCEPT",
	}
	after := []string{
		"-P INPUT ACCEPT", "-P FORWARD DROP", "-P OUTPUT ACCEPT",
		"-N DOCKER", "-N DOCKER-ISOLATION-STAGE-1", "-N DOCKER-USER",
		"-A FORWARD -i lan0 -j ACCEPT",
		"-A FORWARD -j DOCKER-USER",
		"-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
		"-A FORWARD -i wg0 -j ACCEPT", // someone else's, added meanwhile
		"-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2",
		"-A DOCKER-USER -j RETURN",
		`-A FORWARD -m comment --comment "DOCKER \"x\" y" -j ACCEPT`,
	}
	got, err := dockerCleanup(before, after)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"-D", "FORWARD", "-j", "DOCKER-USER"},
		{"-D", "FORWARD", "-o", "docker0", "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"},
		{"-D", "DOCKER-ISOLATION-STAGE-1", "-i", "docker0", "!", "-o", "docker0", "-j", "DOCKER-ISOLATION-STAGE-2"},
		{"-D", "FORWARD", "-m", "comment", "--comment", `DOCKER "x" y`, "-j", "ACCEPT"},
		{"-F", "DOCKER"}, {"-F", "DOCKER-ISOLATION-STAGE-1"},
		{"-X", "DOCKER"}, {"-X", "DOCKER-ISOLATION-STAGE-1"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("dockerCleanup =\n%q\nwant\n%q", got, want)
	}
	if _, err := dockerCleanup(nil, []string{`-A FORWARD -m comment --comment "DOCKER -j ACCEPT`}); err == nil {
		t.Error("an unbalanced quote was accepted")
	}
	if got, _ := dockerCleanup(after, after); len(got) != 0 {
		t.Errorf("nothing new, yet cleanup %q", got)
	}
}

func TestSplitRule(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"-A FORWARD -j ACCEPT", []string{"-A", "FORWARD", "-j", "ACCEPT"}},
		{"  -N   X  ", []string{"-N", "X"}},
		{`-m comment --comment "a b"`, []string{"-m", "comment", "--comment", "a b"}},
		{`--comment "back\\slash \"q\""`, []string{"--comment", `back\slash "q"`}},
		{`--comment ""`, []string{"--comment", ""}},
		{"", nil},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := splitRule(tc.in)
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("splitRule(%q) = %q, %v, want %q", tc.in, got, err, tc.want)
			}
		})
	}
}
