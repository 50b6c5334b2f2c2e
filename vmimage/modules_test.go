package vmimage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

// fakeKO returns a minimal ELF64 relocatable object whose only section is
// .modinfo with the given key=value pairs, like a kernel module.
func fakeKO(kv ...string) []byte {
	modinfo := []byte(strings.Join(kv, "\x00") + "\x00")
	shstr := []byte("\x00.modinfo\x00.shstrtab\x00")
	const ehsize, shentsize = 64, 64
	dataOff := uint64(ehsize)
	strOff := dataOff + uint64(len(modinfo))
	shOff := (strOff + uint64(len(shstr)) + 7) &^ 7
	var b bytes.Buffer
	le := binary.LittleEndian
	b.Write([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0})
	b.Write(make([]byte, 8))
	binary.Write(&b, le, uint16(1))  // ET_REL
	binary.Write(&b, le, uint16(62)) // x86-64
	binary.Write(&b, le, uint32(1))
	binary.Write(&b, le, uint64(0)) // entry
	binary.Write(&b, le, uint64(0)) // phoff
	binary.Write(&b, le, shOff)
	binary.Write(&b, le, uint32(0))
	for _, v := range []uint16{ehsize, 0, 0, shentsize, 3, 2} {
		binary.Write(&b, le, v)
	}
	b.Write(modinfo)
	b.Write(shstr)
	b.Write(make([]byte, int(shOff)-b.Len()))
	sh := func(name, typ uint32, off, size uint64) {
		binary.Write(&b, le, name)
		binary.Write(&b, le, typ)
		binary.Write(&b, le, uint64(0)) // flags
		binary.Write(&b, le, uint64(0)) // addr
		binary.Write(&b, le, off)
		binary.Write(&b, le, size)
		binary.Write(&b, le, uint32(0))
		binary.Write(&b, le, uint32(0))
		binary.Write(&b, le, uint64(1))
		binary.Write(&b, le, uint64(0))
	}
	sh(0, 0, 0, 0)
	sh(1, 1, dataOff, uint64(len(modinfo))) // .modinfo, PROGBITS
	sh(10, 3, strOff, uint64(len(shstr)))   // .shstrtab, STRTAB
	return b.Bytes()
}

// writeKernel lays out lib/modules/<v> with modules (path -> modinfo).
func writeKernel(t *testing.T, mods map[string][]string, builtin string) string {
	dir := filepath.Join(t.TempDir(), "6.1.0-test")
	for p, kv := range mods {
		full := filepath.Join(dir, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, fakeKO(kv...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "modules.builtin"), []byte(builtin), 0o644)
	return dir
}

func TestResolveModinfo(t *testing.T) {
	dir := writeKernel(t, map[string][]string{
		"kernel/fs/ext4/ext4.ko":          {"license=GPL", "depends=jbd2,mbcache", "softdep=pre: crc32c post: foo"},
		"kernel/fs/jbd2/jbd2.ko":          {"depends="},
		"kernel/fs/mbcache.ko":            {"depends="},
		"kernel/crypto/crc32c_generic.ko": {"alias=crc32c"},
		"kernel/net/9p/9pnet-virtio.ko":   {"depends=9pnet,virtio"},
		"kernel/net/9p/9pnet.ko":          {"depends="},
	}, "kernel/drivers/virtio/virtio.ko\n")
	mt, err := openModuleTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		want    []string
		order   []string
		wantErr error
	}{
		{"deps first", []string{"ext4"}, []string{"jbd2", "mbcache", "ext4"}, nil},
		{"dash and builtin dep", []string{"9pnet-virtio"}, []string{"9pnet", "9pnet_virtio"}, nil},
		{"each once", []string{"jbd2", "ext4", "jbd2"}, []string{"jbd2", "mbcache", "ext4"}, nil},
		{"builtin wanted", []string{"virtio"}, nil, nil},
		{"missing", []string{"nf_tables"}, nil, errdefs.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			order, _, err := mt.resolve(tc.want)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if !reflect.DeepEqual(order, tc.order) {
				t.Fatalf("order = %v, want %v", order, tc.order)
			}
		})
	}
	// A soft dependency on an alias becomes a dependency when the
	// module providing it comes earlier.
	_, sd, _ := mt.resolve([]string{"crc32c_generic", "ext4"})
	if !reflect.DeepEqual(sd["ext4"], []string{"jbd2", "mbcache", "crc32c_generic"}) {
		t.Fatalf("ext4 deps = %v, want crc32c_generic added for softdep crc32c", sd["ext4"])
	}
	order, deps, _ := mt.resolve([]string{"ext4"})
	got := string(mt.modulesDep(order, deps))
	want := "kernel/fs/jbd2/jbd2.ko:\nkernel/fs/mbcache.ko:\nkernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko kernel/fs/mbcache.ko\n"
	if got != want {
		t.Fatalf("modules.dep =\n%s\nwant\n%s", got, want)
	}
}

func TestModulesDepOverrides(t *testing.T) {
	dir := writeKernel(t, map[string][]string{
		"kernel/a.ko": {"depends="}, "kernel/b.ko": {"depends="}, "kernel/c.ko": {"depends="},
	}, "")
	os.WriteFile(filepath.Join(dir, "modules.dep"), []byte("kernel/c.ko: kernel/b.ko\nkernel/b.ko: kernel/a.ko\nkernel/a.ko:\n"), 0o644)
	mt, err := openModuleTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	order, _, err := mt.resolve([]string{"c"})
	if err != nil || !reflect.DeepEqual(order, []string{"a", "b", "c"}) {
		t.Fatalf("order = %v, %v; want [a b c] from modules.dep", order, err)
	}
}

func TestCompressedModulesRejected(t *testing.T) {
	dir := writeKernel(t, nil, "")
	os.MkdirAll(filepath.Join(dir, "kernel"), 0o755)
	os.WriteFile(filepath.Join(dir, "kernel", "x.ko.xz"), []byte("xz"), 0o644)
	if _, err := openModuleTree(dir); !errdefs.IsNotImplemented(err) {
		t.Fatalf("err = %v, want a not-implemented error naming the compressed module", err)
	}
}

func TestParseModulesDep(t *testing.T) {
	for _, bad := range []string{"no colon here\n", ": a.ko\n"} {
		if _, err := parseModulesDep(strings.NewReader(bad)); err == nil {
			t.Errorf("parseModulesDep(%q) accepted it", bad)
		}
	}
}
