package vmimage

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestManifestWriteVerify(t *testing.T) {
	out := t.TempDir()
	tr := newTree()
	tr.addFile("/init", 0o755, []byte("agent"))
	tr.addSymlink("/sbin/init", "../init")
	m := Manifest{Version: "v1", Arch: "amd64", Kernel: KernelFile, Initramfs: InitramfsFile,
		KernelFormat: "bzImage", Digests: map[string]string{}}
	if err := writeOutputs(Options{Out: out}, tr, []byte("kernel"), &m); err != nil {
		t.Fatal(err)
	}
	got, err := ReadManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Verify(out); err != nil {
		t.Fatalf("fresh image: %v", err)
	}
	if got.Files["/init"] != digestBytes([]byte("agent")) || got.Files["/sbin/init"] != "-> ../init" {
		t.Fatalf("files = %v", got.Files)
	}
	// The fields host/driver/bootimage reads keep their names.
	var raw map[string]any
	b, _ := os.ReadFile(filepath.Join(out, ManifestFile))
	json.Unmarshal(b, &raw)
	for _, k := range []string{"version", "arch", "kernel", "initramfs", "kernelFormat"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("manifest.json lacks %q", k)
		}
	}
	// A truncated initramfs is named.
	p := filepath.Join(out, InitramfsFile)
	fi, _ := os.Stat(p)
	os.Truncate(p, fi.Size()/2)
	if err := got.Verify(out); err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("truncated initramfs: err = %v, want one naming %s", err, p)
	}
}
