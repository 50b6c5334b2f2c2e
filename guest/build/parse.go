//go:build linux

package build

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// plan is a parsed Dockerfile: the stages to build (up to the target) and
// the ARGs before the first FROM.
type plan struct {
	stages   []instructions.Stage
	metaArgs []instructions.ArgCommand
	escape   rune
	// total is the number of steps, as docker counts them: meta ARGs, FROM
	// lines and instructions of the stages built.
	total int
}

// parse parses a Dockerfile, appends a LABEL step for labels (as docker's
// --label does) and keeps the stages up to target.
func parse(df []byte, target string, labels map[string]string) (*plan, error) {
	res, err := parser.Parse(bytes.NewReader(df))
	if err != nil {
		return nil, fmt.Errorf("dockerfile parse error: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	if len(labels) > 0 {
		n, err := labelNode(labels)
		if err != nil {
			return nil, err
		}
		res.AST.Children = append(res.AST.Children, n)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", err, errdefs.ErrInvalidArgument)
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("dockerfile has no FROM instruction: a build starts with FROM: %w", errdefs.ErrInvalidArgument)
	}
	if target != "" {
		i, ok := instructions.HasStage(stages, target)
		if !ok {
			return nil, fmt.Errorf("failed to reach build target %s in Dockerfile: %w", target, errdefs.ErrInvalidArgument)
		}
		stages = stages[:i+1]
	}
	p := &plan{stages: stages, metaArgs: metaArgs, escape: res.EscapeToken, total: len(metaArgs) + len(stages)}
	for _, s := range stages {
		p.total += len(s.Commands)
	}
	return p, nil
}

// labelNode is docker's LABEL node for --label values: "k"='v', sorted.
func labelNode(labels map[string]string) (*parser.Node, error) {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var pairs []string
	for _, k := range keys {
		if strings.Contains(labels[k], "'") {
			return nil, fmt.Errorf("label %q: values given with --label cannot contain a single quote: %w", k, errdefs.ErrInvalidArgument)
		}
		pairs = append(pairs, fmt.Sprintf("%q='%s'", k, labels[k]))
	}
	res, err := parser.Parse(strings.NewReader("LABEL " + strings.Join(pairs, " ")))
	if err != nil || len(res.AST.Children) != 1 {
		return nil, fmt.Errorf("--label: bad label: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	return res.AST.Children[0], nil
}

// expander expands $VAR and ${VAR...} in Dockerfile words the way docker
// does, from env ("K=V" entries; later ones win).
func (p *plan) expander(env []string) instructions.SingleWordExpander {
	lex := shell.NewLex(p.escape)
	getter := shell.EnvsFromSlice(env)
	return func(word string) (string, error) {
		s, _, err := lex.ProcessWord(word, getter)
		return s, err
	}
}

// parseTrigger parses an ONBUILD trigger into its instruction.
func parseTrigger(expr string) (instructions.Command, error) {
	res, err := parser.Parse(strings.NewReader(expr))
	if err != nil {
		return nil, err
	}
	if len(res.AST.Children) != 1 {
		return nil, fmt.Errorf("ONBUILD trigger %q is not one instruction", expr)
	}
	return instructions.ParseCommand(res.AST.Children[0])
}
