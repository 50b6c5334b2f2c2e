package container

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestLoadUnreadableState checks that a container whose state.json is
// empty or torn (a crash of the machine before the lazily written file
// reached the disk) is still loaded, with its exit from the shim's
// exit.json, while a container without meta.json is skipped.
func TestLoadUnreadableState(t *testing.T) {
	for _, tc := range []struct {
		name   string
		state  string // state.json content; "-" for none
		exit   bool   // an exit.json from the shim
		meta   bool
		loaded bool
		want   Status
	}{
		{"empty state", "", false, true, true, StatusCreated},
		{"torn state", `{"started_at": "2026-`, false, true, true, StatusCreated},
		{"torn state, exit recorded", `{"started`, true, true, true, StatusExited},
		{"no state", "-", false, true, true, StatusCreated},
		{"no meta", "{}", false, false, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "c1")
			if err := os.Mkdir(dir, 0o711); err != nil {
				t.Fatal(err)
			}
			if tc.meta {
				b, _ := json.Marshal(Config{ID: "c1", Created: time.Now()})
				if err := os.WriteFile(filepath.Join(dir, "meta.json"), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tc.state != "-" {
				if err := os.WriteFile(filepath.Join(dir, "state.json"), []byte(tc.state), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tc.exit {
				if err := writeJSONAtomic(filepath.Join(dir, "exit.json"), ExitStatus{ExitCode: 3}); err != nil {
					t.Fatal(err)
				}
			}
			ctx := context.Background()
			r := &Runtime{root: root, ctx: ctx, containers: map[string]*Container{}}
			if err := r.load(ctx); err != nil {
				t.Fatalf("load: %v", err)
			}
			r.wg.Wait()
			c, ok := r.containers["c1"]
			if ok != tc.loaded {
				t.Fatalf("container loaded: %v, want %v", ok, tc.loaded)
			}
			if !ok {
				return
			}
			if st := c.State(ctx); st.Status != tc.want || (tc.exit && st.ExitCode != 3) {
				t.Errorf("state %+v, want status %s (exit code 3 when recorded)", st, tc.want)
			}
		})
	}
}
