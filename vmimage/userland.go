package vmimage

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/klauspost/compress/zstd"
)

// caBundle is where Debian (and Go's crypto/x509) find the CA roots.
const caBundle = "/etc/ssl/certs/ca-certificates.crt"

// addUserland adds /init, the programs with their libraries, the CA
// bundle, the directories init mounts on and the two device nodes the
// kernel needs before devtmpfs is mounted.
func addUserland(t *tree, root string, ai archInfo, opts Options) error {
	agent, err := os.ReadFile(opts.Agent)
	if err != nil {
		return fmt.Errorf("agent binary: %w", err)
	}
	t.addFile("/init", 0o755, agent)
	for _, p := range programs {
		if err := addFromRoot(t, root, p.Path, 0o755); err != nil {
			return err
		}
		for _, l := range p.Links {
			t.addSymlink(l, path.Base(p.Path))
		}
		deps, err := elfDeps(root, p.Path, ai.Triplet)
		if err != nil {
			return err
		}
		for _, d := range deps {
			if err := addFromRoot(t, root, d, 0o755); err != nil {
				return err
			}
		}
	}
	if err := addFromRoot(t, root, "/etc/mke2fs.conf", 0o644); err != nil {
		return err
	}
	bundle, err := buildCABundle(root)
	if err != nil {
		return err
	}
	t.addFile(caBundle, 0o644, bundle)
	for _, d := range []string{"/dev", "/proc", "/sys", "/run", "/tmp", "/mnt", "/var/lib/berth", "/root"} {
		t.mkdirAll(d)
	}
	t.addCharDev("/dev/console", 0o600, 5, 1)
	t.addCharDev("/dev/null", 0o666, 1, 3)
	t.addSymlink("/sbin/init", "../init")
	t.addFile("/etc/os-release", 0o644, []byte(fmt.Sprintf(
		"PRETTY_NAME=\"berth VM %s\"\nNAME=\"berth VM\"\nID=berth\nID_LIKE=debian\nVERSION_ID=%q\n", opts.Version, opts.Version)))
	t.addFile("/etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\n"))
	t.addFile("/etc/group", 0o644, []byte("root:x:0:\n"))
	t.addFile("/etc/hosts", 0o644, []byte("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"))
	return nil
}

// addFromRoot copies the file at p inside root (following links inside
// root) into t at p.
func addFromRoot(t *tree, root, p string, perm uint32) error {
	host, err := resolveInRoot(root, p)
	if err != nil {
		return fmt.Errorf("%s is in none of the packages: %w", p, errdefs.ErrNotFound)
	}
	b, err := os.ReadFile(host)
	if err != nil {
		return err
	}
	fi, err := os.Stat(host)
	if err == nil && fi.Mode()&0o111 == 0 {
		perm = 0o644
	}
	t.addFile(p, perm, b)
	return nil
}

// buildCABundle concatenates the Mozilla roots of Debian's ca-certificates
// package in name order, as update-ca-certificates does by default.
func buildCABundle(root string) ([]byte, error) {
	certs, err := filepath.Glob(filepath.Join(root, "usr/share/ca-certificates/mozilla/*.crt"))
	if err != nil || len(certs) == 0 {
		return nil, fmt.Errorf("no CA roots in usr/share/ca-certificates/mozilla (is ca-certificates among the packages?): %w", errdefs.ErrNotFound)
	}
	sort.Strings(certs)
	var b bytes.Buffer
	for _, c := range certs {
		pem, err := os.ReadFile(c)
		if err != nil {
			return nil, err
		}
		b.Write(pem)
		if !bytes.HasSuffix(pem, []byte("\n")) {
			b.WriteByte('\n')
		}
	}
	return b.Bytes(), nil
}

// writeInitramfs returns the tree as a zstd-compressed newc cpio. zstd
// because the kernel unpacks the initramfs before /init runs, on the VM's
// (under TCG, emulated) CPU: its decoder is several times faster than
// gzip's and the file is smaller too (measured: 15.8 MB against gzip -9's
// 18.4 MB). One encoder goroutine and no dictionary or timestamps, so
// equal trees give equal bytes.
func writeInitramfs(t *tree, mtime int64) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedBestCompression),
		zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(8<<20))
	if err != nil {
		return nil, err
	}
	if _, err := t.writeCPIO(zw, mtime); err != nil {
		zw.Close()
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeOutputs writes the kernel, the initramfs and manifest.json.
func writeOutputs(opts Options, t *tree, kimg []byte, m *Manifest) error {
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return err
	}
	m.Files = t.fileDigests()
	initrd, err := writeInitramfs(t, opts.Mtime)
	if err != nil {
		return err
	}
	m.InitramfsSize = int64(len(initrd))
	m.Digests[KernelFile] = digestBytes(kimg)
	m.Digests[InitramfsFile] = digestBytes(initrd)
	if err := writeFileAtomic(filepath.Join(opts.Out, KernelFile), kimg, 0o644); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(opts.Out, InitramfsFile), initrd, 0o644); err != nil {
		return err
	}
	b, err := marshalManifest(*m)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(opts.Out, ManifestFile), b, 0o644)
}

func marshalManifest(m Manifest) ([]byte, error) {
	var b strings.Builder
	enc := newJSONEncoder(&b)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}
