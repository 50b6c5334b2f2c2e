package vmimage

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

func sampleTree(order []string) *tree {
	t := newTree()
	for _, n := range order {
		switch n {
		case "init":
			t.addFile("/init", 0o755, []byte("#!agent"))
		case "lib":
			t.addFile("/lib/modules/6.1/modules.dep", 0o644, []byte("a.ko:\n"))
		case "link":
			t.addSymlink("/sbin/mkfs.ext4", "mke2fs")
		case "dev":
			t.addCharDev("/dev/console", 0o600, 5, 1)
		}
	}
	return t
}

func TestCPIOReproducible(t *testing.T) {
	var a, b bytes.Buffer
	if _, err := sampleTree([]string{"init", "lib", "link", "dev"}).writeCPIO(&a, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := sampleTree([]string{"dev", "link", "lib", "init"}).writeCPIO(&b, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatalf("same files in another order give other bytes")
	}
	var c bytes.Buffer
	sampleTree([]string{"init", "lib", "link", "dev"}).writeCPIO(&c, 1)
	if bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Fatalf("mtime is not in the archive")
	}
	za, err := writeInitramfs(sampleTree([]string{"init", "lib"}), 0)
	if err != nil {
		t.Fatal(err)
	}
	zb, _ := writeInitramfs(sampleTree([]string{"lib", "init"}), 0)
	if !bytes.Equal(za, zb) {
		t.Fatalf("compressed initramfs differs between equal trees")
	}
}

func TestCPIOFormat(t *testing.T) {
	var b bytes.Buffer
	tr := newTree()
	tr.addFile("/init", 0o755, []byte("abc"))
	n, err := tr.writeCPIO(&b, 0x10)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(b.Len()) || n%4 != 0 {
		t.Fatalf("written %d bytes, buffer %d: not 4-aligned or miscounted", n, b.Len())
	}
	s := b.String()
	// 110-byte header, "init\0" (5) padded to 116, data "abc" padded to 120.
	want := "070701" + "00000001" + "000081ED" + "00000000" + "00000000" + "00000001" + "00000010" + "00000003"
	if !strings.HasPrefix(s, want) {
		t.Fatalf("header = %q, want prefix %q", s[:len(want)], want)
	}
	if got := s[110:115]; got != "init\x00" {
		t.Fatalf("name = %q", got)
	}
	if got := s[116:119]; got != "abc" {
		t.Fatalf("data at 116 = %q (%s)", got, hex.EncodeToString([]byte(s[110:124])))
	}
	if !strings.Contains(s[120:], "TRAILER!!!\x00") {
		t.Fatalf("no trailer")
	}
}

func TestTreeParents(t *testing.T) {
	tr := newTree()
	tr.addFile("/usr/lib/x86_64-linux-gnu/libc.so.6", 0o755, nil)
	for _, d := range []string{"usr", "usr/lib", "usr/lib/x86_64-linux-gnu"} {
		e, ok := tr.entries[d]
		if !ok || e.mode&0o170000 != modeDir {
			t.Errorf("parent %s missing or not a directory", d)
		}
	}
	es := tr.sorted()
	if es[0].name != "usr" {
		t.Errorf("first entry %q, want the parent dir first", es[0].name)
	}
}

// TestInitramfsZstd checks that the initramfs is one zstd stream (the
// kernel's CONFIG_RD_ZSTD) holding exactly the tree's cpio.
func TestInitramfsZstd(t *testing.T) {
	tr := sampleTree([]string{"init", "lib", "link", "dev"})
	z, err := writeInitramfs(tr, 7)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(z, []byte{0x28, 0xb5, 0x2f, 0xfd}) {
		t.Fatalf("initramfs starts with % x, want the zstd magic", z[:4])
	}
	d, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	got, err := d.DecodeAll(z, nil)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	var want bytes.Buffer
	if _, err := tr.writeCPIO(&want, 7); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("decoded initramfs (%d bytes) is not the tree's cpio (%d bytes)", len(got), want.Len())
	}
}
