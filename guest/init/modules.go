package guestinit

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"strings"
)

// moduleName is the kernel's name for a module file (dashes as underscores).
func moduleName(p string) string {
	return strings.ReplaceAll(strings.TrimSuffix(path.Base(p), ".ko"), "-", "_")
}

// loadOrder reads modules.dep and returns the module paths in an order
// where every module comes after the modules it depends on, each once,
// and each module's dependencies.
func loadOrder(r io.Reader) ([]string, map[string][]string, error) {
	deps := map[string][]string{}
	var lines []string
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		p, rest, ok := strings.Cut(l, ":")
		if !ok {
			return nil, nil, fmt.Errorf("modules.dep line %d: no ':' in %q", n, l)
		}
		p = strings.TrimSpace(p)
		deps[p] = strings.Fields(rest)
		lines = append(lines, p)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	var out []string
	state := map[string]int{}
	var visit func(p string) error
	visit = func(p string) error {
		switch state[p] {
		case 1:
			return fmt.Errorf("modules.dep: dependency cycle at %s", p)
		case 2:
			return nil
		}
		state[p] = 1
		for _, d := range deps[p] {
			if err := visit(d); err != nil {
				return err
			}
		}
		state[p] = 2
		out = append(out, p)
		return nil
	}
	for _, p := range lines {
		if err := visit(p); err != nil {
			return nil, nil, err
		}
	}
	return out, deps, nil
}
