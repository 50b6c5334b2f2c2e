package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestConcurrentFirstUse: several commands at once on a fresh home create
// the default machine once and start one daemon.
func TestConcurrentFirstUse(t *testing.T) {
	h := home(t)
	const n = 4
	var wg sync.WaitGroup
	results := make([]result, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = berth(t, h, "info", "--format", "{{.Name}}")
		}()
	}
	wg.Wait()
	starts := 0
	for _, r := range results {
		expect(t, r, 0, "default\n", "")
		starts += strings.Count(r.err, "Starting machine")
	}
	if starts != 1 {
		t.Errorf("%d commands printed a start, want 1", starts)
	}
	b, err := os.ReadFile(filepath.Join(h, "machines", "default", "daemon.log"))
	if err != nil {
		t.Fatal(err)
	}
	if c := strings.Count(string(b), "machine daemon serving"); c != 1 {
		t.Errorf("%d daemons served, want 1:\n%s", c, b)
	}
}
