//go:build linux

package build

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/containerd/errdefs"
	"github.com/klauspost/compress/gzip"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/berth-dev/berth/guest/snapshot"
)

// ExtractContext unpacks a build context tar (uncompressed, gzip or bzip2)
// read from r into dir. Entries cannot write outside dir.
func ExtractContext(ctx context.Context, r io.Reader, dir string) error {
	ar, err := decompress(r)
	if err != nil {
		return fmt.Errorf("build context: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	if _, err := snapshot.Apply(ctx, dir, ar); err != nil {
		return fmt.Errorf("build context: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	return nil
}

// decompress returns r's uncompressed stream: gzip and bzip2 are sniffed.
func decompress(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(3)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		return gzip.NewReader(br)
	case bytes.HasPrefix(magic, []byte("BZh")):
		return bzip2.NewReader(br), nil
	}
	return br, nil
}

// ignoreMatcher tells which context paths .dockerignore excludes.
type ignoreMatcher struct {
	pm *patternmatcher.PatternMatcher
}

// excluded reports whether the slash-separated context path rel is
// excluded. Errors in patterns were reported when reading the file.
func (m ignoreMatcher) excluded(rel string) bool {
	if m.pm == nil || rel == "" || rel == "." {
		return false
	}
	ok, _ := m.pm.MatchesOrParentMatches(filepath.FromSlash(rel))
	return ok
}

// readDockerignore reads the context's .dockerignore, if any.
func readDockerignore(contextDir string) (ignoreMatcher, error) {
	f, err := os.Open(filepath.Join(contextDir, ".dockerignore"))
	if errors.Is(err, os.ErrNotExist) {
		return ignoreMatcher{}, nil
	}
	if err != nil {
		return ignoreMatcher{}, err
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return ignoreMatcher{}, fmt.Errorf("error reading .dockerignore: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return ignoreMatcher{}, fmt.Errorf(".dockerignore: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	return ignoreMatcher{pm: pm}, nil
}
