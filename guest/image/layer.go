package image

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// layerJob is one layer to bring into the store: its blob and its snapshot.
type layerJob struct {
	blob    Blob
	diffID  v1.Hash
	chainID string
	// open returns the compressed layer stream (from the registry, or from a
	// tarball being loaded).
	open func() (io.ReadCloser, error)
	// report receives progress lines about this layer.
	report func(status string, current, total int64)
}

// layerResult says what ensureLayer did.
type layerResult struct {
	size    int64
	existed bool
}

// ensureLayer makes sure both the blob and the unpacked snapshot of a layer
// exist, downloading and unpacking in one pass: the compressed stream is
// teed into the blob file and into decompression and the tar applier. The
// blob digest and the diff ID are both verified before either is kept.
func (s *Store) ensureLayer(ctx context.Context, j *layerJob) (layerResult, error) {
	unlock, err := s.lockLayer(ctx, j.chainID)
	if err != nil {
		return layerResult{}, err
	}
	defer unlock()
	digest, err := v1.NewHash(j.blob.Digest)
	if err != nil {
		return layerResult{}, fmt.Errorf("layer digest %q: %w", j.blob.Digest, errdefs.ErrInvalidArgument)
	}
	blobOK, snapOK := s.content.Has(digest), s.snaps.Exists(j.chainID)
	if blobOK && snapOK {
		size, err := s.snaps.Usage(j.chainID)
		j.report("Already exists", 0, 0)
		return layerResult{size: size, existed: true}, err
	}
	if blobOK {
		f, err := s.content.Open(digest)
		if err != nil {
			return layerResult{}, err
		}
		defer f.Close()
		j.report("Extracting", 0, j.blob.Size)
		size, err := s.unpack(ctx, j, f, func() error { return nil })
		if err == nil {
			j.report("Pull complete", 0, 0)
		}
		return layerResult{size: size}, err
	}
	return s.fetchLayer(ctx, j, digest, snapOK)
}

func (s *Store) fetchLayer(ctx context.Context, j *layerJob, digest v1.Hash, snapOK bool) (layerResult, error) {
	rc, err := j.open()
	if err != nil {
		return layerResult{}, err
	}
	defer rc.Close()
	w, err := s.content.Writer(digest)
	if err != nil {
		return layerResult{}, err
	}
	defer w.Abort()
	pr := &progressReader{r: rc, total: j.blob.Size, report: j.report}
	tee := io.TeeReader(pr, w)
	commit := func() error {
		if _, err := io.Copy(io.Discard, tee); err != nil {
			return fmt.Errorf("download layer %s: %w", digest, err)
		}
		j.report("Verifying Checksum", 0, 0)
		if err := w.Commit(); err != nil {
			return err
		}
		j.report("Download complete", 0, 0)
		j.report("Extracting", j.blob.Size, j.blob.Size)
		return nil
	}
	var size int64
	if snapOK {
		err = commit()
		if err == nil {
			size, err = s.snaps.Usage(j.chainID)
		}
	} else {
		size, err = s.unpack(ctx, j, tee, commit)
	}
	if err != nil {
		return layerResult{}, err
	}
	j.report("Pull complete", 0, 0)
	return layerResult{size: size}, nil
}

// unpack decompresses r into the snapshot j.chainID. commit runs once the
// tar is applied (it reads the rest of r); then the diff ID is checked.
func (s *Store) unpack(ctx context.Context, j *layerJob, r io.Reader, commit func() error) (int64, error) {
	dr, closeDec, err := decompress(r)
	if err != nil {
		return 0, fmt.Errorf("layer %s: %w", j.blob.Digest, err)
	}
	defer closeDec()
	h := sha256.New()
	hr := io.TeeReader(dr, h)
	return s.snaps.Unpack(ctx, j.chainID, hr, func() error {
		if _, err := io.Copy(io.Discard, hr); err != nil {
			return fmt.Errorf("layer %s: decompress: %w", j.blob.Digest, err)
		}
		if err := commit(); err != nil {
			return err
		}
		return checkDiffID(h, j.diffID)
	})
}

func checkDiffID(h hash.Hash, want v1.Hash) error {
	if got := hex.EncodeToString(h.Sum(nil)); got != want.Hex {
		return fmt.Errorf("layer content hashes to sha256:%s but the image config says %s: %w", got, want, errdefs.ErrDataLoss)
	}
	return nil
}

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// decompress sniffs r's compression (gzip, zstd or none) and returns the
// uncompressed stream.
func decompress(r io.Reader) (io.Reader, func(), error) {
	br := bufio.NewReaderSize(r, 256<<10)
	magic, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, err
	}
	switch {
	case bytes.HasPrefix(magic, gzipMagic):
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("gzip: %w", err)
		}
		return gz, func() { gz.Close() }, nil
	case bytes.HasPrefix(magic, zstdMagic):
		zr, err := zstd.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("zstd: %w", err)
		}
		return zr, zr.Close, nil
	}
	return br, func() {}, nil
}

// progressReader reports "Downloading" as bytes arrive, at most every
// 512 KiB.
type progressReader struct {
	r      io.Reader
	n      int64
	last   int64
	total  int64
	report func(status string, current, total int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	if p.n-p.last >= 512<<10 || (errors.Is(err, io.EOF) && p.n != p.last) {
		p.last = p.n
		p.report("Downloading", p.n, p.total)
	}
	return n, err
}

// resetDir empties (creating) a scratch directory.
func resetDir(d string) error {
	if err := os.RemoveAll(d); err != nil {
		return fmt.Errorf("clean %s: %w", d, err)
	}
	return os.MkdirAll(d, 0o700)
}
