package container

import (
	"regexp"
	"strings"
	"testing"
)

func TestValidID(t *testing.T) {
	docker := regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$`)
	for _, id := range []string{
		"", "a", "Z9", "0abc", "a_b.c-d", "_a", ".a", "-a", "a/b", "a b", "a:b", "é",
		strings.Repeat("a", 128), strings.Repeat("a", 129), "abc\n", "a\x00",
	} {
		t.Run(id, func(t *testing.T) {
			if got, want := validID(id), docker.MatchString(id); got != want {
				t.Errorf("validID(%q) = %v, want %v", id, got, want)
			}
		})
	}
}
