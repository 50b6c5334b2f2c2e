package qemu

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/containerd/errdefs"
	"github.com/klauspost/compress/zstd"
	"github.com/therootcompany/xz"

	"github.com/berth-dev/berth/host/internal/atomicfile"
	"github.com/berth-dev/berth/host/internal/errkind"
)

// An amd64 bzImage decompresses itself before the kernel runs, and under
// TCG that is most of the time qemu takes to start a VM: measured here,
// 3.2 s from SeaBIOS jumping to the kernel until its first line for the
// Debian kernel's 8 MB xz payload, against 0.14 s for the same kernel
// booted uncompressed. The driver therefore boots amd64 VMs through the
// kernel's PVH entry point (qemu loads an ELF vmlinux with a PVH note
// directly): it decompresses the bzImage's payload once, on the host, into
// the machine's dir, and boots the bzImage as before when the kernel has
// no PVH entry or a compression it cannot read.

// usePVH reports whether VMs on goos/goarch boot through PVH: amd64 on
// Linux (measured there; qemu's PVH loader does not depend on the
// accelerator, but HVF on Intel Macs is untested).
func usePVH(goos, goarch string) bool { return goos == "linux" && goarch == "amd64" }

// vmlinuxPrefix names the decompressed kernel in the machine's dir:
// vmlinux-<first 16 hex of the bzImage's sha256>.
const vmlinuxPrefix = "vmlinux-"

// xenNotePVHEntry is XEN_ELFNOTE_PHYS32_ENTRY, the note that makes an ELF
// kernel bootable through PVH (Linux's CONFIG_PVH).
const xenNotePVHEntry = 18

// maxVmlinux bounds a decompressed kernel (Debian's is 63 MiB).
const maxVmlinux = 512 << 20

// pvhKernel returns the uncompressed kernel with a PVH entry point for the
// bzImage at kernel, decompressing it into dir unless done before. It
// removes the decompressed kernels of other bzImages from dir.
func pvhKernel(kernel, dir string) (string, error) {
	sum, err := fileSHA256(kernel)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, vmlinuxPrefix+hex.EncodeToString(sum[:8]))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	// The bzImage and the decompressed kernel (tens of MB) would otherwise
	// stay in the long-lived machine daemon's resident memory until the
	// runtime's scavenger gets to them.
	defer debug.FreeOSMemory()
	b, err := os.ReadFile(kernel)
	if err != nil {
		return "", err
	}
	vmlinux, err := extractVmlinux(b)
	if err != nil {
		return "", fmt.Errorf("kernel %s: %w", kernel, err)
	}
	old, _ := filepath.Glob(filepath.Join(dir, vmlinuxPrefix+"*"))
	if err := atomicfile.WriteFile(path, vmlinux, 0o600); err != nil {
		return "", err
	}
	for _, o := range old {
		os.Remove(o)
	}
	return path, nil
}

// fileSHA256 hashes the file at path without holding it in memory.
func fileSHA256(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// extractVmlinux returns the ELF kernel inside an x86 bzImage, checked to
// have a PVH entry point. Kernels compressed with xz, gzip or zstd are
// read; others fail with errdefs.ErrNotImplemented.
func extractVmlinux(bz []byte) ([]byte, error) {
	payload, err := bzPayload(bz)
	if err != nil {
		return nil, err
	}
	out, err := decompress(payload)
	if err != nil {
		return nil, err
	}
	ok, err := hasPVHEntry(out)
	if err != nil {
		return nil, fmt.Errorf("decompressed kernel: %w", err)
	}
	if !ok {
		return nil, errkind.New(errdefs.ErrNotImplemented, "the kernel has no PVH entry point (CONFIG_PVH)")
	}
	if err := trimZeroTails(out); err != nil {
		return nil, fmt.Errorf("decompressed kernel: %w", err)
	}
	return out, nil
}

// trimZeroTails lowers the file size of every loadable segment of the
// 64-bit little-endian ELF in b by the zero bytes at its end, which the
// loader then fills in instead (memory size > file size, like .bss). The
// x86 vmlinux stores its .bss and .brk as 23 MiB of zeros: qemu maps the
// file and keeps each segment's file part for resets, so without this its
// resident memory grows by as much.
func trimZeroTails(b []byte) error {
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return err
	}
	defer f.Close()
	if f.Class != elf.ELFCLASS64 || f.ByteOrder != binary.LittleEndian {
		return nil
	}
	le := binary.LittleEndian
	phoff, phentsize := le.Uint64(b[0x20:]), uint64(le.Uint16(b[0x36:]))
	for i, p := range f.Progs {
		if p.Type != elf.PT_LOAD || p.Off+p.Filesz > uint64(len(b)) {
			continue
		}
		data := b[p.Off : p.Off+p.Filesz]
		n := uint64(len(bytes.TrimRight(data, "\x00")))
		h := phoff + uint64(i)*phentsize
		if h+56 > uint64(len(b)) {
			return errors.New("program header outside the file")
		}
		le.PutUint64(b[h+32:], n) // p_filesz; p_memsz stays
	}
	return nil
}

// bzPayload returns the compressed kernel of a bzImage (boot protocol
// 2.08 or later: the setup header's payload_offset and payload_length).
func bzPayload(bz []byte) ([]byte, error) {
	if len(bz) < 0x250 || string(bz[0x202:0x206]) != "HdrS" {
		return nil, errkind.New(errdefs.ErrInvalidArgument, "not a bzImage (no HdrS setup header)")
	}
	if v := binary.LittleEndian.Uint16(bz[0x206:]); v < 0x208 {
		return nil, errkind.New(errdefs.ErrNotImplemented, "boot protocol %#x has no payload fields (2.08 or later needed)", v)
	}
	setup := int(bz[0x1f1])
	if setup == 0 {
		setup = 4
	}
	start := (setup+1)*512 + int(binary.LittleEndian.Uint32(bz[0x248:]))
	n := int(binary.LittleEndian.Uint32(bz[0x24c:]))
	if start < 0 || n <= 0 || start+n > len(bz) || start+n < start {
		return nil, errkind.New(errdefs.ErrInvalidArgument, "bzImage payload at %d+%d is outside the file (%d bytes)", start, n, len(bz))
	}
	return bz[start : start+n], nil
}

// decompress reads the payload by its magic. The kernel's build appends
// the uncompressed size (4 bytes) after the compressed stream.
func decompress(p []byte) ([]byte, error) {
	var r io.Reader
	switch {
	case bytes.HasPrefix(p, []byte("\xfd7zXZ\x00")):
		xr, err := xz.NewReader(bytes.NewReader(p), 0)
		if err != nil {
			return nil, fmt.Errorf("xz payload: %w", err)
		}
		xr.Multistream(false)
		r = xr
	case bytes.HasPrefix(p, []byte{0x1f, 0x8b}):
		gr, err := gzip.NewReader(bytes.NewReader(p))
		if err != nil {
			return nil, fmt.Errorf("gzip payload: %w", err)
		}
		gr.Multistream(false)
		r = gr
	case bytes.HasPrefix(p, []byte{0x28, 0xb5, 0x2f, 0xfd}) && len(p) > 4:
		zr, err := zstd.NewReader(bytes.NewReader(p[:len(p)-4]), zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxVmlinux))
		if err != nil {
			return nil, fmt.Errorf("zstd payload: %w", err)
		}
		defer zr.Close()
		r = zr
	default:
		return nil, errkind.New(errdefs.ErrNotImplemented, "the kernel's compression is not xz, gzip or zstd")
	}
	out, err := io.ReadAll(io.LimitReader(r, maxVmlinux+1))
	if err != nil {
		return nil, fmt.Errorf("decompress the kernel: %w", err)
	}
	if len(out) > maxVmlinux {
		return nil, errkind.New(errdefs.ErrInvalidArgument, "the decompressed kernel is larger than %d MiB", maxVmlinux>>20)
	}
	return out, nil
}

// hasPVHEntry reports whether the ELF image has the Xen PVH entry note.
func hasPVHEntry(b []byte) (bool, error) {
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return false, err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type != elf.PT_NOTE {
			continue
		}
		notes, err := io.ReadAll(io.LimitReader(p.Open(), 1<<20))
		if err != nil {
			return false, err
		}
		if hasNote(notes, f.ByteOrder, "Xen", xenNotePVHEntry) {
			return true, nil
		}
	}
	return false, nil
}

// hasNote scans ELF notes (4-byte aligned name and descriptor) for one
// of the given owner and type.
func hasNote(b []byte, bo binary.ByteOrder, owner string, typ uint32) bool {
	align := func(n uint32) int { return int((n + 3) &^ 3) }
	for len(b) >= 12 {
		namesz, descsz, t := bo.Uint32(b), bo.Uint32(b[4:]), bo.Uint32(b[8:])
		b = b[12:]
		if align(namesz) > len(b) || align(namesz) < 0 {
			return false
		}
		name := string(bytes.TrimRight(b[:namesz], "\x00"))
		b = b[align(namesz):]
		if align(descsz) > len(b) || align(descsz) < 0 {
			return false
		}
		b = b[align(descsz):]
		if name == owner && t == typ {
			return true
		}
	}
	return false
}
