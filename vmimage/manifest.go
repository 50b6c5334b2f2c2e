package vmimage

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// File names in the output directory (host/driver/bootimage reads them).
const (
	KernelFile    = "kernel"
	InitramfsFile = "initramfs"
	ManifestFile  = "manifest.json"
)

// Manifest is manifest.json: what the image is and what it is made of.
// The first fields are those host/driver/bootimage reads.
type Manifest struct {
	Version      string `json:"version"`
	Arch         string `json:"arch"`
	Kernel       string `json:"kernel"`
	Initramfs    string `json:"initramfs"`
	KernelFormat string `json:"kernelFormat"`

	// KernelVersion is the kernel release (uname -r).
	KernelVersion string `json:"kernelVersion"`
	// Digests are "sha256:<hex>" of the kernel and initramfs files.
	Digests map[string]string `json:"digests"`
	// InitramfsSize is the compressed initramfs in bytes.
	InitramfsSize int64 `json:"initramfsSize"`
	// Packages are the Debian packages used, name to version.
	Packages map[string]string `json:"packages"`
	// Modules are the kernel modules in the initramfs, in load order.
	Modules []string `json:"modules"`
	// Files are the sha256 digests of every regular file and the targets
	// of every symbolic link in the initramfs, by path.
	Files map[string]string `json:"files"`
}

func digestBytes(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func digestFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// fileDigests returns the Files map of a tree.
func (t *tree) fileDigests() map[string]string {
	out := map[string]string{}
	for _, e := range t.entries {
		switch e.mode & 0o170000 {
		case modeFile:
			out["/"+e.name] = digestBytes(e.data)
		case modeSymlink:
			out["/"+e.name] = "-> " + string(e.data)
		}
	}
	return out
}

// ReadManifest reads dir/manifest.json.
func ReadManifest(dir string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%s: %w", filepath.Join(dir, ManifestFile), err)
	}
	return m, nil
}

// Verify checks that the kernel and initramfs in dir match the manifest's
// digests; a mismatch names the file.
func (m Manifest) Verify(dir string) error {
	for _, name := range []string{m.Kernel, m.Initramfs} {
		got, err := digestFile(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if want := m.Digests[name]; got != want {
			return fmt.Errorf("%s: digest %s, manifest says %s (corrupt or truncated; rebuild the image)", filepath.Join(dir, name), got, want)
		}
	}
	return nil
}

// writeFileAtomic writes b to p through a temporary file, fsync and rename.
func writeFileAtomic(p string, b []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), p)
}

func newJSONEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc
}
