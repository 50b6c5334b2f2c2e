package vmimage

import (
	"debug/elf"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/containerd/errdefs"
)

// libDirs returns the directories, inside a Debian root, where the dynamic
// loader of triplet looks for libraries, in its order.
func libDirs(triplet string) []string {
	return []string{
		"/lib/" + triplet, "/usr/lib/" + triplet, "/lib", "/usr/lib", "/lib64", "/usr/lib64",
	}
}

// resolveInRoot returns the host path of p inside root, following
// symbolic links as if root were "/" (a link can never leave root).
func resolveInRoot(root, p string) (string, error) {
	p = path.Clean("/" + p)
	for i := 0; i < 40; i++ {
		// Resolve the directory part first, then the last element.
		dir, base := path.Split(p)
		if dir != "/" {
			rd, err := resolveInRoot(root, strings.TrimSuffix(dir, "/"))
			if err != nil {
				return "", err
			}
			rel, _ := filepath.Rel(root, rd)
			dir = path.Clean("/"+filepath.ToSlash(rel)) + "/"
		}
		p = path.Clean(dir + base)
		host := filepath.Join(root, filepath.FromSlash(p))
		fi, err := os.Lstat(host)
		if err != nil {
			return "", err
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			return host, nil
		}
		t, err := os.Readlink(host)
		if err != nil {
			return "", err
		}
		if path.IsAbs(t) {
			p = path.Clean(t)
		} else {
			p = path.Clean(path.Join(path.Dir(p), t))
		}
	}
	return "", fmt.Errorf("%s: too many levels of symbolic links", p)
}

// elfDeps returns the files (absolute paths inside root) that bin needs
// to run: its program interpreter and every shared library in the
// DT_NEEDED closure, found in root's library directories for triplet,
// never on the machine running the build.
func elfDeps(root, bin, triplet string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	var walk func(p string) error
	walk = func(p string) error {
		host, err := resolveInRoot(root, p)
		if err != nil {
			return err
		}
		f, err := elf.Open(host)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		defer f.Close()
		interp, err := interpreter(f)
		if err != nil {
			return fmt.Errorf("%s: program interpreter: %w", p, err)
		}
		if interp != "" && !seen[interp] {
			seen[interp] = true
			if _, err := resolveInRoot(root, interp); err != nil {
				return fmt.Errorf("%s needs the loader %s, which no given package provides: %w", p, interp, errdefs.ErrNotFound)
			}
			out = append(out, interp)
		}
		needed, err := f.ImportedLibraries()
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		for _, lib := range needed {
			found := ""
			for _, d := range libDirs(triplet) {
				if _, err := resolveInRoot(root, d+"/"+lib); err == nil {
					found = d + "/" + lib
					break
				}
			}
			if found == "" {
				return fmt.Errorf("%s needs %s, which no given package provides (add the Debian package that ships it): %w", p, lib, errdefs.ErrNotFound)
			}
			if seen[found] {
				continue
			}
			seen[found] = true
			out = append(out, found)
			if err := walk(found); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(bin); err != nil {
		return nil, err
	}
	return out, nil
}

// interpreter returns the PT_INTERP path of f, or "" for a static binary
// or a library.
func interpreter(f *elf.File) (string, error) {
	for _, prog := range f.Progs {
		if prog.Type != elf.PT_INTERP {
			continue
		}
		b := make([]byte, prog.Filesz)
		if _, err := prog.ReadAt(b, 0); err != nil {
			return "", err
		}
		return strings.TrimRight(string(b), "\x00"), nil
	}
	return "", nil
}
