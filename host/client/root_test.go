package client

import (
	"slices"
	"strings"
	"testing"
)

// TestCommandSetNames checks that every entry of commandSet is named as
// the command it builds, and that names are unique: Execute builds only
// the entry whose name a command line starts with.
func TestCommandSetNames(t *testing.T) {
	c := &cli{}
	seen := map[string]bool{}
	for _, lc := range c.commandSet() {
		cmd := lc.build()
		if cmd.Name() != lc.name {
			t.Errorf("commandSet entry %q builds command %q", lc.name, cmd.Name())
		}
		if seen[lc.name] {
			t.Errorf("commandSet has %q twice", lc.name)
		}
		seen[lc.name] = true
	}
}

func TestNewRootCommandLazy(t *testing.T) {
	all := len(NewRootCommand().Commands())
	tests := []struct {
		args []string
		want []string // the commands built; nil: all of them
	}{
		{[]string{"version"}, []string{"version"}},
		{[]string{"run", "--rm", "busybox", "true"}, []string{"run"}},
		{[]string{"--machine", "m1", "ps", "-a"}, []string{"ps"}},
		{[]string{"--machine=m1", "machine", "ls"}, []string{"machine"}},
		{[]string{"--help"}, nil},
		{[]string{"-h", "run"}, nil},
		{[]string{"help", "run"}, nil},
		{[]string{"completion", "bash"}, nil},
		{[]string{"__complete", "ru"}, nil},
		{[]string{"nosuchcommand"}, nil},
		{[]string{}, nil},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var got []string
			for _, cmd := range newRootCommand(tt.args).Commands() {
				got = append(got, cmd.Name())
			}
			if tt.want == nil {
				if len(got) != all {
					t.Fatalf("built %d commands %v, want all %d", len(got), got, all)
				}
				return
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("built %v, want %v", got, tt.want)
			}
		})
	}
}
