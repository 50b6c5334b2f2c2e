//go:build linux

package build

import (
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

func TestParse(t *testing.T) {
	const multi = "ARG A=1\nFROM scratch AS one\nENV X=1\nFROM one AS two\nLABEL a=b\nFROM two\n"
	for _, tc := range []struct {
		name, df, target string
		labels           map[string]string
		stages, total    int
		lastCode, err    string
	}{
		{name: "all stages", df: multi, stages: 3, total: 6},
		{name: "target", df: multi, target: "one", stages: 1, total: 3, lastCode: "ENV X=1"},
		{name: "target case-insensitive", df: multi, target: "TWO", stages: 2, total: 5},
		{name: "labels", df: "FROM scratch\n", labels: map[string]string{"b": "2", "a": "x y"}, stages: 1, total: 2, lastCode: `LABEL "a"='x y' "b"='2'`},
		{name: "continuation and comments", df: "# c\nFROM scratch\nENV A=1 \\\n  B=2\n", stages: 1, total: 2, lastCode: "ENV A=1   B=2"},
		{name: "escape directive", df: "# escape=`\nFROM scratch\nENV A=1 `\n  B=2\n", stages: 1, total: 2},
		{name: "unknown target", df: multi, target: "nope", err: "failed to reach build target nope in Dockerfile"},
		{name: "unknown instruction", df: "FROM scratch\nFOO bar\n", err: "unknown instruction: FOO"},
		{name: "no FROM", df: "ENV A=b\n", err: "no build stage in current context"},
		{name: "bad stage name", df: "FROM scratch AS 1x\n", err: "invalid name for build stage"},
		{name: "quote in label", df: "FROM scratch\n", labels: map[string]string{"a": "it's"}, err: "cannot contain a single quote"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parse([]byte(tc.df), tc.target, tc.labels)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(p.stages) != tc.stages || p.total != tc.total {
				t.Errorf("stages %d total %d, want %d %d", len(p.stages), p.total, tc.stages, tc.total)
			}
			last := p.stages[len(p.stages)-1]
			if tc.lastCode != "" && (len(last.Commands) == 0 || codeOf(last.Commands[len(last.Commands)-1]) != tc.lastCode) {
				t.Errorf("last instruction %v, want %q", last.Commands, tc.lastCode)
			}
		})
	}
}

func TestExpander(t *testing.T) {
	p, err := parse([]byte("FROM scratch\n"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	expand := p.expander([]string{"A=1", "B=two words", "A=3"})
	for _, tc := range []struct{ in, want string }{
		{"$A", "3"},
		{"${A}x", "3x"},
		{"${NOPE:-def}", "def"},
		{"${A:+set}", "set"},
		{"${NOPE}", ""},
		{`\$A`, "$A"},
		{"'$A'", "$A"},
		{`"$B"`, "two words"},
		{"/opt/${B}", "/opt/two words"},
	} {
		got, err := expand(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("expand(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestParseTrigger(t *testing.T) {
	cmd, err := parseTrigger("ENV A=1")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cmd.(*instructions.EnvCommand); !ok {
		t.Errorf("trigger parsed as %T", cmd)
	}
	if _, err := parseTrigger("FROM x"); err == nil {
		t.Error("FROM as a trigger must fail")
	}
}
