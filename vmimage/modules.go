package vmimage

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/containerd/errdefs"
)

// modName normalizes a module name the way the kernel does ('-' and '_'
// are the same).
func modName(s string) string {
	s = filepath.Base(s)
	s = strings.TrimSuffix(s, ".ko")
	return strings.ReplaceAll(s, "-", "_")
}

// moduleTree indexes the modules of one kernel (lib/modules/<version>).
type moduleTree struct {
	dir     string            // lib/modules/<version>
	paths   map[string]string // name -> path relative to dir
	builtin map[string]bool
	// deps overrides .modinfo (from modules.dep when the tree has one).
	deps map[string][]string
}

// openModuleTree indexes dir. Compressed modules (.ko.xz, .ko.zst) are an
// error: the guest loads modules with finit_module as plain files.
func openModuleTree(dir string) (*moduleTree, error) {
	mt := &moduleTree{dir: dir, paths: map[string]string{}, builtin: map[string]bool{}}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case strings.HasSuffix(p, ".ko"):
			mt.paths[modName(p)] = filepath.ToSlash(rel)
		case strings.HasSuffix(p, ".ko.xz"), strings.HasSuffix(p, ".ko.zst"), strings.HasSuffix(p, ".ko.gz"):
			return fmt.Errorf("kernel module %s is compressed; give a kernel package with uncompressed modules: %w", rel, errdefs.ErrNotImplemented)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("kernel modules in %s: %w", dir, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "modules.builtin")); err == nil {
		for _, l := range strings.Fields(string(b)) {
			mt.builtin[modName(l)] = true
		}
	}
	if f, err := os.Open(filepath.Join(dir, "modules.dep")); err == nil {
		defer f.Close()
		deps, err := parseModulesDep(f)
		if err != nil {
			return nil, fmt.Errorf("%s/modules.dep: %w", dir, err)
		}
		mt.deps = map[string][]string{}
		for _, d := range deps {
			mt.deps[modName(d.Path)] = namesOf(d.Deps)
		}
	}
	return mt, nil
}

func namesOf(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = modName(p)
	}
	return out
}

// ModDep is one line of modules.dep: a module path and the paths of the
// modules it needs.
type ModDep struct {
	Path string
	Deps []string
}

// parseModulesDep reads modules.dep ("path: dep dep ...").
func parseModulesDep(r interface{ Read([]byte) (int, error) }) ([]ModDep, error) {
	var out []ModDep
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p, rest, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(p) == "" {
			return nil, fmt.Errorf("line %d: want \"module.ko: deps...\", got %q", n, line)
		}
		out = append(out, ModDep{Path: strings.TrimSpace(p), Deps: strings.Fields(rest)})
	}
	return out, sc.Err()
}

// modinfo returns the module's hard dependencies and its "pre" soft
// dependencies (e.g. ext4's crc32c), read from its .modinfo section.
func (mt *moduleTree) modinfo(name string) (deps, pre []string, err error) {
	if d, ok := mt.deps[name]; ok {
		return d, nil, nil
	}
	deps, pre, _, err = mt.readModinfo(name)
	return deps, pre, err
}

// readModinfo reads a module's depends, softdep "pre:" and alias fields.
func (mt *moduleTree) readModinfo(name string) (deps, pre, aliases []string, err error) {
	f, err := elf.Open(filepath.Join(mt.dir, mt.paths[name]))
	if err != nil {
		return nil, nil, nil, err
	}
	defer f.Close()
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, nil, nil, fmt.Errorf("module %s has no .modinfo section", name)
	}
	b, err := sec.Data()
	if err != nil {
		return nil, nil, nil, err
	}
	for _, kv := range bytes.Split(b, []byte{0}) {
		k, v, _ := strings.Cut(string(kv), "=")
		switch k {
		case "depends":
			for _, d := range strings.Split(v, ",") {
				if d != "" {
					deps = append(deps, modName(d))
				}
			}
		case "softdep":
			pre = append(pre, softPre(v)...)
		case "alias":
			aliases = append(aliases, modName(v))
		}
	}
	return deps, pre, aliases, nil
}

// softPre returns the "pre:" names of a softdep value ("pre: a b post: c").
func softPre(v string) []string {
	var out []string
	in := false
	for _, f := range strings.Fields(v) {
		switch f {
		case "pre:":
			in = true
		case "post:":
			in = false
		default:
			if in {
				out = append(out, modName(f))
			}
		}
	}
	return out
}

// resolve returns the modules to load for want, dependencies first, each
// once. Built-in modules are left out; a wanted module that is neither a
// file nor built in is an error. Soft dependencies that do not exist are
// skipped (they name alternatives, such as crc32c's implementations).
func (mt *moduleTree) resolve(want []string) ([]string, map[string][]string, error) {
	var order []string
	deps := map[string][]string{}
	soft := map[string][]string{}
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name string, optional bool) error
	visit = func(name string, optional bool) error {
		name = modName(name)
		if state[name] == 2 || mt.builtin[name] {
			return nil
		}
		if state[name] == 1 {
			return fmt.Errorf("kernel module %s: dependency cycle", name)
		}
		if _, ok := mt.paths[name]; !ok {
			if optional {
				return nil
			}
			return fmt.Errorf("kernel module %s is not in %s (neither a module nor built in): %w", name, mt.dir, errdefs.ErrNotFound)
		}
		state[name] = 1
		d, pre, err := mt.modinfo(name)
		if err != nil {
			return err
		}
		for _, p := range pre {
			if err := visit(p, true); err != nil {
				return err
			}
		}
		for _, x := range d {
			if err := visit(x, false); err != nil {
				return err
			}
		}
		deps[name] = d
		soft[name] = pre
		state[name] = 2
		order = append(order, name)
		return nil
	}
	for _, w := range want {
		if err := visit(w, false); err != nil {
			return nil, nil, err
		}
	}
	mt.addSoftDeps(order, deps, soft)
	return order, deps, nil
}

// addSoftDeps makes a module depend on the included modules that provide
// its soft "pre:" dependencies by name or alias (ext4 and libcrc32c need
// "crc32c", which crc32c_generic provides), so that a loader working in
// parallel still loads them first. Only providers that come earlier in
// order are added, which keeps the graph acyclic.
func (mt *moduleTree) addSoftDeps(order []string, deps, soft map[string][]string) {
	provider := map[string]string{}
	pos := map[string]int{}
	for i, n := range order {
		pos[n] = i
		provider[n] = n
		if _, ok := mt.deps[n]; ok {
			continue
		}
		if _, _, aliases, err := mt.readModinfo(n); err == nil {
			for _, a := range aliases {
				if _, taken := provider[a]; !taken {
					provider[a] = n
				}
			}
		}
	}
	for _, n := range order {
		for _, s := range soft[n] {
			if p, ok := provider[s]; ok && p != n && pos[p] < pos[n] && !slices.Contains(deps[n], p) {
				deps[n] = append(deps[n], p)
			}
		}
	}
}

// modulesDep renders modules.dep for the resolved modules, one line per
// module in load order (dependencies first).
func (mt *moduleTree) modulesDep(order []string, deps map[string][]string) []byte {
	var b bytes.Buffer
	for _, n := range order {
		b.WriteString(mt.paths[n] + ":")
		ds := append([]string(nil), deps[n]...)
		sort.Strings(ds)
		for _, d := range ds {
			if p, ok := mt.paths[d]; ok {
				b.WriteString(" " + p)
			}
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}
