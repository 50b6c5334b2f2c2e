package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// writeJSONAtomic stores v at path with temp + fsync + rename, so readers
// see either the old or the new content, never a torn file.
func writeJSONAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, b, 0o644)
}

func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	return replaceFile(path, b, mode, true)
}

// writeDerived replaces a file that is regenerated from stored state when
// needed (spec, /etc files, shim config): atomic, but without fsync.
func writeDerived(path string, b []byte, mode os.FileMode) error {
	return replaceFile(path, b, mode, false)
}

func writeDerivedJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeDerived(path, b, 0o644)
}

func replaceFile(path string, b []byte, mode os.FileMode, sync bool) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err = tmp.Write(b); err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil && sync {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// errUndecodable marks a file readJSON could read but not decode.
var errUndecodable = errors.New("not valid JSON")

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w: %w", path, errUndecodable, err)
	}
	return nil
}
