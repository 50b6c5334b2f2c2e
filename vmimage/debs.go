package vmimage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/containerd/errdefs"
)

// deb is one Debian package file and what its control file says.
type deb struct {
	File    string
	Package string
	Version string
	Arch    string
}

// run runs a command and returns its standard output; a failure is an
// error with the command and its standard error.
func run(ctx context.Context, dir string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return "", fmt.Errorf("%s is not installed (berth-vmimage runs Debian's tools): %w", name, errdefs.ErrFailedPrecondition)
		}
		return "", fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// inspectDeb reads a package file's name, version and architecture.
func inspectDeb(ctx context.Context, file string) (deb, error) {
	out, err := run(ctx, "", "dpkg-deb", "-f", file, "Package", "Version", "Architecture")
	if err != nil {
		return deb{}, fmt.Errorf("package file %s: %w", file, err)
	}
	d := deb{File: file}
	for _, l := range strings.Split(out, "\n") {
		k, v, _ := strings.Cut(l, ":")
		switch strings.TrimSpace(k) {
		case "Package":
			d.Package = strings.TrimSpace(v)
		case "Version":
			d.Version = strings.TrimSpace(v)
		case "Architecture":
			d.Arch = strings.TrimSpace(v)
		}
	}
	if d.Package == "" || d.Version == "" {
		return deb{}, fmt.Errorf("package file %s has no Package/Version: %w", file, errdefs.ErrInvalidArgument)
	}
	return d, nil
}

// extractDeb unpacks a package's files into root (no maintainer scripts,
// no root needed).
func extractDeb(ctx context.Context, d deb, root string) error {
	if _, err := run(ctx, "", "dpkg-deb", "-x", d.File, root); err != nil {
		return fmt.Errorf("extract %s: %w", d.File, err)
	}
	return nil
}

// pkgRef is how to download a package: the name apt knows it by (pkg:arch,
// or plain pkg for an architecture-independent package, which apt files
// under the native architecture only) and its candidate version.
type pkgRef struct{ Name, Version string }

// candidates asks apt, in one call per naming, which version of each
// package it would install for arch (apt-cache takes over a second per
// call).
func candidates(ctx context.Context, pkgs []string, arch string) (map[string]pkgRef, error) {
	out := map[string]pkgRef{}
	for _, qualify := range []bool{true, false} {
		var names []string
		for _, p := range pkgs {
			if _, ok := out[p]; !ok {
				if qualify {
					p += ":" + arch
				}
				names = append(names, p)
			}
		}
		if len(names) == 0 {
			break
		}
		cmd := exec.CommandContext(ctx, "apt-cache", append([]string{"show", "--no-all-versions"}, names...)...)
		b, err := cmd.Output() // a missing name fails the call but not the others' stanzas
		if errors.Is(err, exec.ErrNotFound) {
			return nil, fmt.Errorf("apt-cache is not installed (berth-vmimage downloads Debian packages with apt; or give them with --deb): %w", errdefs.ErrFailedPrecondition)
		}
		for _, st := range strings.Split(string(b), "\n\n") {
			f := stanza(st)
			if f["Package"] == "" || (f["Architecture"] != arch && f["Architecture"] != "all") {
				continue
			}
			name := f["Package"]
			if qualify {
				name += ":" + arch
			}
			out[f["Package"]] = pkgRef{Name: name, Version: f["Version"]}
		}
	}
	for _, p := range pkgs {
		if _, ok := out[p]; !ok {
			return nil, fmt.Errorf("package %s for %s: apt knows no version (for a foreign architecture: dpkg --add-architecture %s && apt-get update): %w", p, arch, arch, errdefs.ErrNotFound)
		}
	}
	return out, nil
}

// stanza parses the fields of one apt-cache show stanza.
func stanza(s string) map[string]string {
	f := map[string]string{}
	for _, l := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(l, ": "); ok && !strings.HasPrefix(l, " ") {
			f[k] = strings.TrimSpace(v)
		}
	}
	return f
}

// dependsOn returns the first package pkg:arch depends on whose name has
// prefix (how a kernel metapackage names the real kernel package).
func dependsOn(ctx context.Context, pkg, arch, prefix string) (string, error) {
	out, err := run(ctx, "", "apt-cache", "depends", pkg+":"+arch)
	if err != nil {
		return "", fmt.Errorf("package %s:%s: %w", pkg, arch, err)
	}
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "Depends: "); ok {
			v = strings.TrimSuffix(strings.TrimSpace(v), ":"+arch)
			if strings.HasPrefix(v, prefix) {
				return v, nil
			}
		}
	}
	return "", fmt.Errorf("package %s:%s depends on no %s* package: %w", pkg, arch, prefix, errdefs.ErrNotFound)
}

// debFileName is the name apt-get download gives a package file.
func debFileName(pkg, version, arch string) string {
	return fmt.Sprintf("%s_%s_%s.deb", pkg, strings.ReplaceAll(version, ":", "%3a"), arch)
}

// fetchDeb returns the package ref names at its candidate version from
// cache, or downloads it there with apt-get download (in a temporary
// directory, then renamed, so an interrupted download leaves nothing
// behind).
func fetchDeb(ctx context.Context, cache, pkg, arch string, ref pkgRef) (deb, error) {
	name, ver := ref.Name, ref.Version
	for _, a := range []string{arch, "all"} {
		p := filepath.Join(cache, debFileName(pkg, ver, a))
		if _, err := os.Stat(p); err == nil {
			return inspectDeb(ctx, p)
		}
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return deb{}, err
	}
	tmp, err := os.MkdirTemp(cache, ".download-")
	if err != nil {
		return deb{}, err
	}
	defer os.RemoveAll(tmp)
	if _, err := run(ctx, tmp, "apt-get", "download", "-q", name+"="+ver); err != nil {
		return deb{}, fmt.Errorf("download %s:%s: %w", pkg, arch, err)
	}
	got, err := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if err != nil || len(got) != 1 {
		return deb{}, fmt.Errorf("download %s:%s: apt-get left %d package files", pkg, arch, len(got))
	}
	dst := filepath.Join(cache, filepath.Base(got[0]))
	if err := os.Rename(got[0], dst); err != nil {
		return deb{}, err
	}
	return inspectDeb(ctx, dst)
}
