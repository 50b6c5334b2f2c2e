package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// bareBundle is what bareSpec made of a berth container's spec.
type bareBundle struct {
	spec  *specs.Spec
	files []string // paths relative to the container dir to copy into the bundle
	notes []string // what was changed, for the report
}

// bareSpec turns the OCI spec berth generated for a container (state dir
// cdir) into the spec of an equivalent bundle for bare `crun run` in
// bundleDir: same namespaces, capabilities, seccomp profile, masked and
// read-only paths, mounts and cgroup manager; the root is bundleDir/rootfs
// (the image extracted once, where berth mounts an overlay per container),
// files berth bind-mounts from the container dir (hosts, hostname,
// resolv.conf) are copied into the bundle, the process runs args without a
// terminal, namespaces berth joins by path (a prepared network namespace)
// become new ones, and hooks are dropped. The input is not modified.
func bareSpec(in *specs.Spec, cdir, bundleDir, cgroupsPath string, args []string) (bareBundle, error) {
	if in == nil || in.Process == nil || in.Root == nil || in.Linux == nil {
		return bareBundle{}, fmt.Errorf("berth's config.json lacks process, root or linux: not an OCI spec for Linux")
	}
	raw, err := json.Marshal(in)
	if err != nil {
		return bareBundle{}, err
	}
	s := new(specs.Spec)
	if err := json.Unmarshal(raw, s); err != nil {
		return bareBundle{}, err
	}
	b := bareBundle{spec: s}
	s.Root.Path = "rootfs"
	s.Process.Args = append([]string(nil), args...)
	s.Process.Terminal = false
	s.Process.ConsoleSize = nil
	for i, m := range s.Mounts {
		rel, ok := within(cdir, m.Source)
		if !ok {
			continue
		}
		s.Mounts[i].Source = filepath.Join(bundleDir, rel)
		b.files = append(b.files, rel)
	}
	if len(b.files) > 0 {
		b.notes = append(b.notes, "copied "+strings.Join(b.files, ", ")+" from the container's state dir")
	}
	for i, ns := range s.Linux.Namespaces {
		if ns.Path != "" {
			s.Linux.Namespaces[i].Path = ""
			b.notes = append(b.notes, fmt.Sprintf("a new %s namespace instead of joining %s", ns.Type, ns.Path))
		}
	}
	if s.Hooks != nil {
		s.Hooks = nil
		b.notes = append(b.notes, "dropped the spec's hooks")
	}
	s.Linux.CgroupsPath = cgroupsPath
	return b, nil
}

// within reports whether path lies inside dir (not dir itself), and its
// path relative to dir.
func within(dir, path string) (string, bool) {
	if dir == "" || path == "" || !filepath.IsAbs(path) {
		return "", false
	}
	rel, err := filepath.Rel(filepath.Clean(dir), filepath.Clean(path))
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", false
	}
	return rel, true
}
