package qemu

import "testing"

func TestConsoleExcerpt(t *testing.T) {
	panicLog := "[ 1.0] a\n[ 2.4] Initramfs unpacking failed: invalid magic\n" +
		"[ 3.0] Kernel panic - not syncing: VFS: Unable to mount root fs\n[ 3.1] Call Trace:\n[ 3.2]  dump_stack_lvl+0x44/0x5c"
	for _, tc := range []struct {
		name, in, excerpt, panicLine string
	}{
		{"empty", "", "", ""},
		{"blank lines", "\n\n", "", ""},
		{"short", "one\ntwo", "one\ntwo", ""},
		{"last lines", "1\n2\n3\n4\n5\n6\n7\n8", "5\n6\n7\n8", ""},
		{"ends at the panic", panicLog,
			"[ 1.0] a\n[ 2.4] Initramfs unpacking failed: invalid magic\n[ 3.0] Kernel panic - not syncing: VFS: Unable to mount root fs",
			"Kernel panic - not syncing: VFS: Unable to mount root fs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := consoleExcerpt(tc.in); got != tc.excerpt {
				t.Errorf("consoleExcerpt = %q, want %q", got, tc.excerpt)
			}
			if got := kernelPanic(tc.in); got != tc.panicLine {
				t.Errorf("kernelPanic = %q, want %q", got, tc.panicLine)
			}
		})
	}
}
