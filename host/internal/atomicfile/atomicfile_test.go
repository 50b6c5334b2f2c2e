package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFile(t *testing.T) {
	tests := []struct {
		name string
		old  string // "" means no old file
		data string
		perm os.FileMode
	}{
		{name: "new file", data: "hello", perm: 0o600},
		{name: "replace", old: "a much longer old content", data: "new", perm: 0o644},
		{name: "empty", old: "x", data: "", perm: 0o600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "f.json")
			if tt.old != "" {
				if err := os.WriteFile(p, []byte(tt.old), 0o666); err != nil {
					t.Fatal(err)
				}
			}
			if err := WriteFile(p, []byte(tt.data), tt.perm); err != nil {
				t.Fatalf("WriteFile: %v", err)
			}
			got, err := os.ReadFile(p)
			if err != nil || string(got) != tt.data {
				t.Fatalf("content = %q, %v; want %q", got, err, tt.data)
			}
			st, _ := os.Stat(p)
			if st.Mode().Perm() != tt.perm {
				t.Errorf("mode = %v, want %v", st.Mode().Perm(), tt.perm)
			}
			ents, _ := os.ReadDir(dir)
			if len(ents) != 1 {
				t.Errorf("dir holds %d entries, want only the file (temp files left behind?)", len(ents))
			}
		})
	}
}

func TestWriteFileMissingDir(t *testing.T) {
	if err := WriteFile(filepath.Join(t.TempDir(), "no", "f"), []byte("x"), 0o600); err == nil {
		t.Fatal("WriteFile into a missing dir succeeded")
	}
}
