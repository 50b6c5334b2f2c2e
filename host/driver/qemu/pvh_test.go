package qemu

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/klauspost/compress/zstd"
)

// testELF is a small x86-64 ELF with one PT_NOTE segment holding a Xen
// note of type noteType (18 is the PVH entry), followed by x86-looking
// filler (call opcodes, which xz's x86 filter rewrites).
func testELF(noteType uint32) []byte {
	le := binary.LittleEndian
	var notes []byte
	notes = le.AppendUint32(notes, 4) // namesz
	notes = le.AppendUint32(notes, 8) // descsz
	notes = le.AppendUint32(notes, noteType)
	notes = append(notes, "Xen\x00"...)
	notes = le.AppendUint64(notes, 0x1000850)

	const ehsize, phsize = 64, 56
	b := []byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	b = le.AppendUint16(b, 2)  // ET_EXEC
	b = le.AppendUint16(b, 62) // EM_X86_64
	b = le.AppendUint32(b, 1)
	b = le.AppendUint64(b, 0x1000000) // entry
	b = le.AppendUint64(b, ehsize)    // phoff
	b = le.AppendUint64(b, 0)         // shoff
	b = le.AppendUint32(b, 0)
	b = le.AppendUint16(b, ehsize)
	b = le.AppendUint16(b, phsize)
	b = le.AppendUint16(b, 1) // phnum
	b = le.AppendUint16(b, 64)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint32(b, 4) // PT_NOTE
	b = le.AppendUint32(b, 4) // PF_R
	b = le.AppendUint64(b, ehsize+phsize)
	b = le.AppendUint64(b, 0)
	b = le.AppendUint64(b, 0)
	b = le.AppendUint64(b, uint64(len(notes)))
	b = le.AppendUint64(b, uint64(len(notes)))
	b = le.AppendUint64(b, 4)
	b = append(b, notes...)
	for i := 0; i < 64<<10; i++ {
		b = append(b, []byte{0xe8, byte(i), byte(i >> 8), 0, 0, 0x90, byte(i * 7)}[i%7])
	}
	return b
}

// testBzImage wraps payload (plus the 4-byte size the kernel build
// appends) in a minimal bzImage setup header.
func testBzImage(payload []byte, size int) []byte {
	bz := make([]byte, 2*512)
	bz[0x1f1] = 1 // setup_sects: the payload area starts at 1024
	copy(bz[0x202:], "HdrS")
	binary.LittleEndian.PutUint16(bz[0x206:], 0x020f)
	binary.LittleEndian.PutUint32(bz[0x248:], 16) // payload_offset
	p := binary.LittleEndian.AppendUint32(append([]byte(nil), payload...), uint32(size))
	binary.LittleEndian.PutUint32(bz[0x24c:], uint32(len(p)))
	bz = append(bz, make([]byte, 16)...)
	return append(bz, p...)
}

func gzipped(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zstded(t *testing.T, b []byte) []byte {
	e, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	return e.EncodeAll(b, nil)
}

// TestExtractVmlinux reads the kernel out of bzImages compressed as
// Debian's is (xz with the x86 filter: testdata/pvh-elf.xz is testELF(18)
// made with xz --check=crc32 --x86 --lzma2), with gzip and zstd, and
// refuses what it cannot boot through PVH.
func TestExtractVmlinux(t *testing.T) {
	pvh, plain := testELF(xenNotePVHEntry), testELF(17)
	xzPVH, err := os.ReadFile(filepath.Join("testdata", "pvh-elf.xz"))
	if err != nil {
		t.Fatal(err)
	}
	corrupt := append([]byte(nil), xzPVH...)
	corrupt[len(corrupt)/2] ^= 0xff
	notBz := testBzImage(gzipped(t, pvh), len(pvh))
	copy(notBz[0x202:], "Nope")
	outside := testBzImage(gzipped(t, pvh), len(pvh))
	binary.LittleEndian.PutUint32(outside[0x24c:], 1<<30)
	for _, tc := range []struct {
		name string
		bz   []byte
		want []byte // nil: an error
		kind func(error) bool
	}{
		{"xz with the x86 filter", testBzImage(xzPVH, len(pvh)), pvh, nil},
		{"gzip", testBzImage(gzipped(t, pvh), len(pvh)), pvh, nil},
		{"zstd", testBzImage(zstded(t, pvh), len(pvh)), pvh, nil},
		{"no PVH note", testBzImage(gzipped(t, plain), len(plain)), nil, errdefs.IsNotImplemented},
		{"lz4", testBzImage([]byte("\x02\x21\x4c\x18 lz4 data"), 100), nil, errdefs.IsNotImplemented},
		{"corrupt xz", testBzImage(corrupt, len(pvh)), nil, nil},
		{"not a bzImage", notBz, nil, errdefs.IsInvalidArgument},
		{"payload outside the file", outside, nil, errdefs.IsInvalidArgument},
		{"truncated", testBzImage(gzipped(t, pvh), len(pvh))[:0x240], nil, errdefs.IsInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := extractVmlinux(tc.bz)
			if tc.want != nil {
				if err != nil || !bytes.Equal(got, tc.want) {
					t.Fatalf("extractVmlinux = %d bytes, %v; want the %d bytes of the ELF", len(got), err, len(tc.want))
				}
				return
			}
			if err == nil {
				t.Fatalf("extractVmlinux = %d bytes, want an error", len(got))
			}
			if tc.kind != nil && !tc.kind(err) {
				t.Errorf("error %v is not of the expected kind", err)
			}
		})
	}
}

// TestPVHKernelCache: the kernel is decompressed once per bzImage into the
// machine's dir, and another bzImage replaces it there.
func TestPVHKernelCache(t *testing.T) {
	dir, src := t.TempDir(), t.TempDir()
	elf1, elf2 := testELF(xenNotePVHEntry), append(testELF(xenNotePVHEntry), "v2"...)
	k := filepath.Join(src, "kernel")
	if err := os.WriteFile(k, testBzImage(gzipped(t, elf1), len(elf1)), 0o644); err != nil {
		t.Fatal(err)
	}
	p1, err := pvhKernel(k, dir)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p1); !bytes.Equal(b, elf1) {
		t.Fatalf("%s does not hold the kernel", p1)
	}
	os.WriteFile(p1, []byte("cached"), 0o600) // a second call must not decompress again
	if p, err := pvhKernel(k, dir); err != nil || p != p1 {
		t.Fatalf("second pvhKernel = %s, %v; want %s", p, err, p1)
	}
	if b, _ := os.ReadFile(p1); string(b) != "cached" {
		t.Errorf("the kernel was decompressed again")
	}
	if err := os.WriteFile(k, testBzImage(gzipped(t, elf2), len(elf2)), 0o644); err != nil {
		t.Fatal(err)
	}
	p2, err := pvhKernel(k, dir)
	if err != nil || p2 == p1 {
		t.Fatalf("pvhKernel of another kernel = %s, %v", p2, err)
	}
	if b, _ := os.ReadFile(p2); !bytes.Equal(b, elf2) {
		t.Errorf("%s does not hold the new kernel", p2)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, vmlinuxPrefix+"*")); len(m) != 1 {
		t.Errorf("decompressed kernels in the machine dir: %v, want only the new one", m)
	}
}

// TestTrimZeroTails: a loadable segment's trailing zeros leave its file
// size (the loader fills them in from the memory size); other segments
// are untouched.
func TestTrimZeroTails(t *testing.T) {
	le := binary.LittleEndian
	const ph = 64 // testELF's one program header
	for _, tc := range []struct {
		name        string
		typ         uint32
		file, mem   uint64
		wantFileLen uint64
	}{
		// The note's descriptor 0x1000850 ends in four zero bytes.
		{"load segment", 1, 24, 24, 20},
		{"note segment", 4, 24, 24, 24},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := testELF(xenNotePVHEntry)
			le.PutUint32(b[ph:], tc.typ)
			if err := trimZeroTails(b); err != nil {
				t.Fatal(err)
			}
			if f, m := le.Uint64(b[ph+32:]), le.Uint64(b[ph+40:]); f != tc.wantFileLen || m != tc.mem {
				t.Errorf("p_filesz %d, p_memsz %d; want %d, %d", f, m, tc.wantFileLen, tc.mem)
			}
		})
	}
}
