package image

import "testing"

func TestIsIDPrefix(t *testing.T) {
	for s, want := range map[string]bool{
		"abc": true, "sha256:abc": true, "0123456789abcdef": true,
		"sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef": true,
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0":            false,
		"ab": false, "sha256:": false, "": false, "ABC": false, "abg": false,
		"busybox": false, "sha256:sha256:abc": false, "sha512:abc": false,
	} {
		if got := isIDPrefix(s); got != want {
			t.Errorf("isIDPrefix(%q) = %v, want %v", s, got, want)
		}
	}
}
