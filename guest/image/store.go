// Package image is the agent's image store: pulling from registries with
// go-containerregistry, a content-addressed blob store, image metadata and
// tags in bbolt, layers unpacked into overlay snapshots (package snapshot),
// and docker-archive / OCI-layout tarballs for load and save.
package image

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	bolt "go.etcd.io/bbolt"

	"github.com/berth-dev/berth/guest/snapshot"
)

var (
	bucketRoot   = []byte("images.v1")
	bucketImages = []byte("images") // image id -> JSON record
	bucketRefs   = []byte("refs")   // normalized name:tag or name@digest -> image id
)

// Image is the stored record of one image.
type Image struct {
	// ID is the digest of the image config ("sha256:...").
	ID string `json:"id"`
	// ManifestDigest and ManifestMediaType describe the stored manifest.
	ManifestDigest    string `json:"manifestDigest"`
	ManifestMediaType string `json:"manifestMediaType"`
	// Created is the image's creation time from its config.
	Created time.Time `json:"created"`
	// Size is the unpacked size of all layers, as docker's SIZE.
	Size   int64             `json:"size"`
	Labels map[string]string `json:"labels,omitempty"`
	// DiffIDs and ChainIDs of the layers, base first.
	DiffIDs  []string `json:"diffIDs"`
	ChainIDs []string `json:"chainIDs"`
	// Layers are the compressed layer blobs, base first.
	Layers   []Blob `json:"layers"`
	Platform string `json:"platform,omitempty"`
	Parent   string `json:"parent,omitempty"`
	// Stored is when the image was pulled or loaded.
	Stored time.Time `json:"stored"`

	// RepoTags and RepoDigests are filled from the name index on read, in
	// normalized form ("docker.io/library/busybox:latest").
	RepoTags    []string `json:"-"`
	RepoDigests []string `json:"-"`
}

// Blob describes a stored blob.
type Blob struct {
	Digest    string `json:"digest"`
	MediaType string `json:"mediaType"`
	Size      int64  `json:"size"`
}

// Store is the image store. It is safe for concurrent use.
type Store struct {
	db        *bolt.DB
	content   *Content
	snaps     *snapshot.Store
	insecure  map[string]bool
	transport http.RoundTripper
	tmp       string

	mu     sync.Mutex // guards usage, leases and layer locks
	usage  func(imageID string) int
	leases map[string]int
	layers map[string]chan struct{}
	// meta serializes read-modify-write of image records and tags with
	// removal, so that a pull does not race a delete of the same layers.
	meta sync.Mutex
}

// Option configures a Store.
type Option func(*Store)

// WithInsecureRegistries lets the store reach these registries
// ("host:port") over plain HTTP. Loopback registries always may.
func WithInsecureRegistries(regs ...string) Option {
	return func(s *Store) {
		for _, r := range regs {
			s.insecure[r] = true
		}
	}
}

// WithTransport sets the HTTP transport used to reach registries.
func WithTransport(t http.RoundTripper) Option {
	return func(s *Store) { s.transport = t }
}

// Open opens the image store kept under dataDir (content/, snapshots/) with
// its metadata in db, which the caller owns and closes.
func Open(ctx context.Context, dataDir string, db *bolt.DB, opts ...Option) (*Store, error) {
	s := &Store{
		db:        db,
		insecure:  map[string]bool{},
		transport: http.DefaultTransport,
		tmp:       filepath.Join(dataDir, "tmp", "images"),
		leases:    map[string]int{},
		layers:    map[string]chan struct{}{},
	}
	for _, o := range opts {
		o(s)
	}
	var err error
	if s.content, err = NewContent(filepath.Join(dataDir, "content")); err != nil {
		return nil, err
	}
	if s.snaps, err = snapshot.New(filepath.Join(dataDir, "snapshots")); err != nil {
		return nil, err
	}
	if err := resetDir(s.tmp); err != nil {
		return nil, err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketRoot)
		if err != nil {
			return err
		}
		if _, err := b.CreateBucketIfNotExists(bucketImages); err != nil {
			return err
		}
		_, err = b.CreateBucketIfNotExists(bucketRefs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("image store: %w", err)
	}
	return s, nil
}

// Content returns the blob store.
func (s *Store) Content() *Content { return s.content }

// Snapshots returns the layer snapshots, for building container rootfs
// mounts: Snapshots().LowerDirs(img.ChainIDs).
func (s *Store) Snapshots() *snapshot.Store { return s.snaps }

// SetUsage installs the function that counts the containers using an image
// (the container engine provides it). Images in use cannot be removed
// without force, and are never pruned.
func (s *Store) SetUsage(fn func(imageID string) int) {
	s.mu.Lock()
	s.usage = fn
	s.mu.Unlock()
}

func (s *Store) containers(id string) int {
	s.mu.Lock()
	fn := s.usage
	s.mu.Unlock()
	if fn == nil {
		return 0
	}
	return fn(id)
}

// lease protects blobs and snapshots an operation is creating from garbage
// collection until release is called.
func (s *Store) lease(keys ...string) (release func()) {
	s.mu.Lock()
	for _, k := range keys {
		s.leases[k]++
	}
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		for _, k := range keys {
			if s.leases[k]--; s.leases[k] <= 0 {
				delete(s.leases, k)
			}
		}
		s.mu.Unlock()
	}
}

func (s *Store) leased(k string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.leases[k] > 0
}

// lockLayer serializes work on one layer (by chain ID) across concurrent
// pulls and loads.
func (s *Store) lockLayer(ctx context.Context, key string) (func(), error) {
	for {
		s.mu.Lock()
		ch, busy := s.layers[key]
		if !busy {
			ch = make(chan struct{})
			s.layers[key] = ch
			s.mu.Unlock()
			return func() {
				s.mu.Lock()
				delete(s.layers, key)
				s.mu.Unlock()
				close(ch)
			}, nil
		}
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Count returns the number of images.
func (s *Store) Count(ctx context.Context) (int, error) {
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketRoot).Bucket(bucketImages).Stats().KeyN
		return nil
	})
	return n, err
}

// get reads image id with its names.
func getImage(tx *bolt.Tx, id string) (*Image, error) {
	v := tx.Bucket(bucketRoot).Bucket(bucketImages).Get([]byte(id))
	if v == nil {
		return nil, fmt.Errorf("image %s: %w", id, errdefs.ErrNotFound)
	}
	img := &Image{}
	if err := json.Unmarshal(v, img); err != nil {
		return nil, fmt.Errorf("image %s: bad record: %w", id, err)
	}
	c := tx.Bucket(bucketRoot).Bucket(bucketRefs).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if string(v) != id {
			continue
		}
		r, err := ParseReference(string(k))
		if err != nil {
			continue
		}
		if r.Digest != "" {
			img.RepoDigests = append(img.RepoDigests, string(k))
		} else {
			img.RepoTags = append(img.RepoTags, string(k))
		}
	}
	return img, nil
}

func putImage(tx *bolt.Tx, img *Image) error {
	b, err := json.Marshal(img)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketRoot).Bucket(bucketImages).Put([]byte(img.ID), b)
}

func refsBucket(tx *bolt.Tx) *bolt.Bucket { return tx.Bucket(bucketRoot).Bucket(bucketRefs) }
