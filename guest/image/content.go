package image

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Content is a content-addressed blob store: blobs/sha256/<hex>. Blobs are
// written to an ingest file, hashed while written, fsynced, verified and
// renamed into place, so a blob that exists is always complete and correct.
type Content struct {
	root   string
	ingest string
}

// NewContent opens the blob store at root, dropping interrupted ingests.
func NewContent(root string) (*Content, error) {
	c := &Content{root: root, ingest: filepath.Join(root, "ingest")}
	if err := os.RemoveAll(c.ingest); err != nil {
		return nil, fmt.Errorf("content: drop interrupted downloads: %w", err)
	}
	for _, d := range []string{c.ingest, filepath.Join(root, "blobs", "sha256")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("content: %w", err)
		}
	}
	return c, nil
}

// Path returns where blob d lives (whether or not it exists).
func (c *Content) Path(d v1.Hash) string {
	return filepath.Join(c.root, "blobs", d.Algorithm, d.Hex)
}

// Has reports whether blob d is stored.
func (c *Content) Has(d v1.Hash) bool {
	_, err := os.Stat(c.Path(d))
	return err == nil
}

// Size returns the size of blob d.
func (c *Content) Size(d v1.Hash) (int64, error) {
	st, err := os.Stat(c.Path(d))
	if err != nil {
		return 0, c.notFound(d, err)
	}
	return st.Size(), nil
}

func (c *Content) notFound(d v1.Hash, err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("blob %s: %w", d, errdefs.ErrNotFound)
	}
	return fmt.Errorf("blob %s: %w", d, err)
}

// Open opens blob d for reading.
func (c *Content) Open(d v1.Hash) (*os.File, error) {
	f, err := os.Open(c.Path(d))
	if err != nil {
		return nil, c.notFound(d, err)
	}
	return f, nil
}

// ReadBlob returns the bytes of a (small) blob.
func (c *Content) ReadBlob(d v1.Hash) ([]byte, error) {
	b, err := os.ReadFile(c.Path(d))
	if err != nil {
		return nil, c.notFound(d, err)
	}
	return b, nil
}

// WriteBlob stores b, which must hash to d.
func (c *Content) WriteBlob(d v1.Hash, b []byte) error {
	if c.Has(d) {
		return nil
	}
	w, err := c.Writer(d)
	if err != nil {
		return err
	}
	defer w.Abort()
	if _, err := w.Write(b); err != nil {
		return err
	}
	return w.Commit()
}

// Delete removes blob d; a missing blob is not an error.
func (c *Content) Delete(d v1.Hash) error {
	if err := os.Remove(c.Path(d)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete blob %s: %w", d, err)
	}
	return nil
}

// Verify re-hashes blob d and fails if its content does not match.
func (c *Content) Verify(d v1.Hash) error {
	f, err := c.Open(d)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("blob %s: %w", d, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != d.Hex {
		return fmt.Errorf("blob %s is corrupt: content hashes to sha256:%s: %w", d, got, errdefs.ErrDataLoss)
	}
	return nil
}

// List returns the digests of all stored blobs.
func (c *Content) List() ([]v1.Hash, error) {
	ents, err := os.ReadDir(filepath.Join(c.root, "blobs", "sha256"))
	if err != nil {
		return nil, fmt.Errorf("content: %w", err)
	}
	out := make([]v1.Hash, 0, len(ents))
	for _, e := range ents {
		if h, err := v1.NewHash("sha256:" + e.Name()); err == nil {
			out = append(out, h)
		}
	}
	return out, nil
}

// Writer starts writing blob d. Commit verifies and publishes it; Abort
// (safe after Commit) drops it.
func (c *Content) Writer(d v1.Hash) (*Ingest, error) {
	if d.Algorithm != "sha256" {
		return nil, fmt.Errorf("blob %s: only sha256 digests are supported: %w", d, errdefs.ErrNotImplemented)
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(c.ingest, d.Hex+"-"+hex.EncodeToString(b[:])), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("content: %w", err)
	}
	return &Ingest{c: c, d: d, f: f, h: sha256.New()}, nil
}

// Ingest is a blob being written.
type Ingest struct {
	c    *Content
	d    v1.Hash
	f    *os.File
	h    hash.Hash
	n    int64
	done bool
}

// Write appends to the blob.
func (w *Ingest) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	return n, err
}

// Written returns the bytes written so far.
func (w *Ingest) Written() int64 { return w.n }

// Commit checks the digest, syncs and renames the blob into place.
func (w *Ingest) Commit() error {
	if w.done {
		return errors.New("blob already committed")
	}
	w.done = true
	defer os.Remove(w.f.Name())
	if got := hex.EncodeToString(w.h.Sum(nil)); got != w.d.Hex {
		w.f.Close()
		return fmt.Errorf("blob %s: content received hashes to sha256:%s (%d bytes): the source sent corrupt data: %w", w.d, got, w.n, errdefs.ErrDataLoss)
	}
	if err := w.f.Sync(); err != nil {
		w.f.Close()
		return fmt.Errorf("blob %s: %w", w.d, err)
	}
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("blob %s: %w", w.d, err)
	}
	if err := os.Rename(w.f.Name(), w.c.Path(w.d)); err != nil {
		return fmt.Errorf("blob %s: %w", w.d, err)
	}
	return syncDir(filepath.Dir(w.c.Path(w.d)))
}

// Abort drops an uncommitted blob.
func (w *Ingest) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.f.Close()
	os.Remove(w.f.Name())
}

func syncDir(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", p, err)
	}
	return nil
}
