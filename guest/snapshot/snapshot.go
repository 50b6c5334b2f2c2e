// Package snapshot keeps the unpacked image layers that containers are made
// of: one directory per layer, keyed by the layer's chain ID, used as an
// overlay lower dir. A layer is unpacked once, into a temporary directory
// that is renamed into place when complete, so a snapshot that exists is
// always whole, and concurrent unpacks of the same layer do not clash.
package snapshot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
)

// Store holds the snapshots under one root directory:
// <root>/<chain-id-hex>/fs is the lower dir, <root>/<hex>/size its size.
type Store struct {
	root string
	tmp  string
}

// New opens (creating if needed) the snapshot store at root and removes
// what an interrupted unpack left behind.
func New(root string) (*Store, error) {
	s := &Store{root: root, tmp: filepath.Join(root, ".tmp")}
	if err := os.RemoveAll(s.tmp); err != nil {
		return nil, fmt.Errorf("snapshots: clean up interrupted unpacks: %w", err)
	}
	if err := os.MkdirAll(s.tmp, 0o700); err != nil {
		return nil, fmt.Errorf("snapshots: %w", err)
	}
	return s, nil
}

// dir returns the snapshot directory for chainID ("sha256:<hex>").
func (s *Store) dir(chainID string) (string, error) {
	alg, hexpart, ok := strings.Cut(chainID, ":")
	if !ok || alg != "sha256" || len(hexpart) != 64 {
		return "", fmt.Errorf("snapshot key %q is not a sha256 chain id: %w", chainID, errdefs.ErrInvalidArgument)
	}
	if _, err := hex.DecodeString(hexpart); err != nil {
		return "", fmt.Errorf("snapshot key %q is not a sha256 chain id: %w", chainID, errdefs.ErrInvalidArgument)
	}
	return filepath.Join(s.root, hexpart), nil
}

// Exists reports whether the layer with chainID is unpacked.
func (s *Store) Exists(chainID string) bool {
	d, err := s.dir(chainID)
	if err != nil {
		return false
	}
	_, err = os.Stat(filepath.Join(d, "fs"))
	return err == nil
}

// Unpack applies the uncompressed layer tar r as the snapshot chainID and
// returns the unpacked size. verify (may be nil) runs after the tar is
// applied and before the snapshot is committed; it typically reads the rest
// of r and checks digests, and its error aborts the unpack. If the snapshot
// already exists (also when another unpack finished first) the existing one
// wins; verify still runs.
func (s *Store) Unpack(ctx context.Context, chainID string, r io.Reader, verify func() error) (int64, error) {
	final, err := s.dir(chainID)
	if err != nil {
		return 0, err
	}
	if verify == nil {
		verify = func() error { return nil }
	}
	if s.Exists(chainID) {
		if err := verify(); err != nil {
			return 0, err
		}
		return s.Usage(chainID)
	}
	tmp, err := s.tempDir()
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	fs := filepath.Join(tmp, "fs")
	if err := os.Mkdir(fs, 0o755); err != nil {
		return 0, fmt.Errorf("snapshot %s: %w", chainID, err)
	}
	size, err := Apply(ctx, fs, r)
	if err != nil {
		return 0, fmt.Errorf("unpack layer %s: %w", chainID, err)
	}
	if err := verify(); err != nil {
		return 0, err
	}
	if err := writeFileSync(filepath.Join(tmp, "size"), []byte(strconv.FormatInt(size, 10))); err != nil {
		return 0, err
	}
	if err := syncTree(tmp); err != nil {
		return 0, fmt.Errorf("snapshot %s: sync: %w", chainID, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		if s.Exists(chainID) {
			log.G(ctx).WithField("chain-id", chainID).Debug("snapshot unpacked concurrently; keeping the first")
			return s.Usage(chainID)
		}
		return 0, fmt.Errorf("snapshot %s: commit: %w", chainID, err)
	}
	if err := syncDir(s.root); err != nil {
		return 0, err
	}
	return size, nil
}

func (s *Store) tempDir() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	d := filepath.Join(s.tmp, hex.EncodeToString(b[:]))
	if err := os.Mkdir(d, 0o700); err != nil {
		return "", fmt.Errorf("snapshots: %w", err)
	}
	return d, nil
}

// LowerDirs returns the fs directories of the given layers, given base
// first (as in an image config), in overlay's lowerdir= order: top first.
func (s *Store) LowerDirs(chainIDs []string) ([]string, error) {
	dirs := make([]string, 0, len(chainIDs))
	for i := len(chainIDs) - 1; i >= 0; i-- {
		d, err := s.dir(chainIDs[i])
		if err != nil {
			return nil, err
		}
		if !s.Exists(chainIDs[i]) {
			return nil, fmt.Errorf("snapshot %s: %w", chainIDs[i], errdefs.ErrNotFound)
		}
		dirs = append(dirs, filepath.Join(d, "fs"))
	}
	return dirs, nil
}

// Usage returns the unpacked size of the layer chainID in bytes (the sum of
// its files' sizes, as docker counts it).
func (s *Store) Usage(chainID string) (int64, error) {
	d, err := s.dir(chainID)
	if err != nil {
		return 0, err
	}
	b, err := os.ReadFile(filepath.Join(d, "size"))
	if errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("snapshot %s: %w", chainID, errdefs.ErrNotFound)
	}
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("snapshot %s: bad size record: %w", chainID, err)
	}
	return n, nil
}

// Remove deletes the snapshot chainID. Removing one that does not exist is
// not an error. The directory is first renamed away, so that a crash in the
// middle never leaves a half-removed snapshot under its key.
func (s *Store) Remove(chainID string) error {
	d, err := s.dir(chainID)
	if err != nil {
		return err
	}
	tmp, err := s.tempDir()
	if err != nil {
		return err
	}
	trash := filepath.Join(tmp, "old")
	if err := os.Rename(d, trash); err != nil {
		os.RemoveAll(tmp)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("remove snapshot %s: %w", chainID, err)
	}
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("remove snapshot %s: %w", chainID, err)
	}
	return nil
}

// List returns the chain IDs of all snapshots.
func (s *Store) List() ([]string, error) {
	ents, err := os.ReadDir(s.root)
	if err != nil {
		return nil, fmt.Errorf("snapshots: %w", err)
	}
	var ids []string
	for _, e := range ents {
		if e.IsDir() && len(e.Name()) == 64 {
			ids = append(ids, "sha256:"+e.Name())
		}
	}
	return ids, nil
}

func writeFileSync(p string, b []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
