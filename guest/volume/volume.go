// Package volume keeps named volumes on the agent's data disk, the way
// docker's "local" volume driver does: each volume is a directory
// <root>/<name>/_data, its metadata in the agent's bbolt database, optionally
// a mount (tmpfs, bind, a device) made when a container first uses it.
package volume

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	bolt "go.etcd.io/bbolt"
)

var bucket = []byte("volumes.v1")

// validName is docker's rule for local volume names.
var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// Volume is one named volume.
type Volume struct {
	Name       string            `json:"name"`
	Driver     string            `json:"driver"`
	Mountpoint string            `json:"mountpoint"`
	CreatedAt  time.Time         `json:"created_at"`
	Labels     map[string]string `json:"labels,omitempty"`
	Options    map[string]string `json:"options,omitempty"`
	// Anonymous volumes are made for an image's VOLUME or a `-v /path` with
	// no name; `rm -v` and `volume prune` remove them.
	Anonymous bool `json:"anonymous,omitempty"`
}

// UsageFunc returns the ids of the containers that use the named volume.
type UsageFunc func(name string) []string

// Store is the set of volumes under one root dir.
type Store struct {
	root string
	db   *bolt.DB

	mu    sync.Mutex
	usage UsageFunc
	mnt   *mounter
}

// Open returns the store rooted at root (created if missing) using db for
// metadata.
func Open(root string, db *bolt.DB) (*Store, error) {
	if err := os.MkdirAll(root, 0o701); err != nil {
		return nil, fmt.Errorf("volumes: %w", err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucket)
		return err
	}); err != nil {
		return nil, fmt.Errorf("volumes: %w", err)
	}
	return &Store{root: root, db: db, usage: func(string) []string { return nil }, mnt: newMounter()}, nil
}

// SetUsage installs the function that tells which containers use a volume;
// until it is set, no volume is in use.
func (s *Store) SetUsage(f UsageFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.usage = f
}

func (s *Store) users(name string) []string {
	s.mu.Lock()
	f := s.usage
	s.mu.Unlock()
	return f(name)
}

// CreateOptions describe a new volume.
type CreateOptions struct {
	// Name is empty for an anonymous volume (a random 64-hex name).
	Name   string
	Driver string
	// Options are the local driver's: type, device, o (as for mount(8)).
	Options map[string]string
	Labels  map[string]string
}

// Create makes a volume. Like docker, creating a volume that exists with the
// same driver returns it unchanged.
func (s *Store) Create(ctx context.Context, o CreateOptions) (*Volume, error) {
	if o.Driver == "" {
		o.Driver = "local"
	}
	if o.Driver != "local" {
		return nil, fmt.Errorf("create %s: volume driver %q is not supported, only \"local\": %w", o.Name, o.Driver, errdefs.ErrInvalidArgument)
	}
	anon := o.Name == ""
	if anon {
		o.Name = randomName()
	} else if !validName.MatchString(o.Name) {
		return nil, fmt.Errorf("create %s: %q includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path: %w", o.Name, o.Name, errdefs.ErrInvalidArgument)
	}
	if err := validateOptions(o.Options); err != nil {
		return nil, fmt.Errorf("create %s: %w", o.Name, err)
	}
	if v, err := s.Get(ctx, o.Name); err == nil {
		return v, nil
	}
	v := &Volume{
		Name:       o.Name,
		Driver:     o.Driver,
		Mountpoint: filepath.Join(s.root, o.Name, "_data"),
		CreatedAt:  time.Now().UTC().Truncate(time.Second),
		Labels:     o.Labels,
		Options:    o.Options,
		Anonymous:  anon,
	}
	if err := os.MkdirAll(v.Mountpoint, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", o.Name, err)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b.Get([]byte(v.Name)) != nil {
			return fmt.Errorf("volume %s: %w", v.Name, errdefs.ErrAlreadyExists)
		}
		return b.Put([]byte(v.Name), data)
	})
	if errdefs.IsAlreadyExists(err) {
		return s.Get(ctx, o.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", o.Name, err)
	}
	return v, nil
}

// Get returns the named volume or an errdefs.ErrNotFound error.
func (s *Store) Get(ctx context.Context, name string) (*Volume, error) {
	var v *Volume
	err := s.db.View(func(tx *bolt.Tx) error {
		data := tx.Bucket(bucket).Get([]byte(name))
		if data == nil {
			return fmt.Errorf("get %s: no such volume: %w", name, errdefs.ErrNotFound)
		}
		v = new(Volume)
		return json.Unmarshal(data, v)
	})
	return v, err
}

// List returns every volume, sorted by name.
func (s *Store) List(ctx context.Context) ([]*Volume, error) {
	var vs []*Volume
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, data []byte) error {
			v := new(Volume)
			if err := json.Unmarshal(data, v); err != nil {
				return fmt.Errorf("volume %s: corrupt record: %w", k, err)
			}
			vs = append(vs, v)
			return nil
		})
	})
	sort.Slice(vs, func(i, j int) bool { return vs[i].Name < vs[j].Name })
	return vs, err
}

// InUse returns the ids of the containers using the volume.
func (s *Store) InUse(name string) []string { return s.users(name) }

// Remove deletes a volume and its data. A volume in use is a conflict, even
// with force (docker's rule: force only ignores a missing volume).
func (s *Store) Remove(ctx context.Context, name string, force bool) error {
	v, err := s.Get(ctx, name)
	if err != nil {
		if force && errdefs.IsNotFound(err) {
			return nil
		}
		return err
	}
	if ids := s.users(name); len(ids) > 0 {
		return fmt.Errorf("remove %s: volume is in use - %v: %w", name, ids, errdefs.ErrConflict)
	}
	if err := s.mnt.forceUnmount(v); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	// Drop the record first: a crash after it leaves only an orphan dir,
	// never a record without data.
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).Delete([]byte(name))
	}); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	if err := os.RemoveAll(filepath.Join(s.root, name)); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	return nil
}

// Prune removes unused volumes: anonymous ones, or all with all set, for
// which match returns true (a nil match takes every one). It returns the
// names and bytes freed.
func (s *Store) Prune(ctx context.Context, all bool, match func(*Volume) bool) ([]string, uint64, error) {
	vs, err := s.List(ctx)
	if err != nil {
		return nil, 0, err
	}
	var deleted []string
	var freed uint64
	for _, v := range vs {
		if (!all && !v.Anonymous) || len(s.users(v.Name)) > 0 || (match != nil && !match(v)) {
			continue
		}
		size := DirSize(v.Mountpoint)
		if err := s.Remove(ctx, v.Name, false); err != nil {
			if errdefs.IsConflict(err) {
				continue // came into use meanwhile
			}
			return deleted, freed, err
		}
		deleted = append(deleted, v.Name)
		if size > 0 {
			freed += uint64(size)
		}
	}
	return deleted, freed, nil
}

func randomName() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

// DirSize is the bytes used by the files under dir, -1 if it cannot be read.
func DirSize(dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return -1
	}
	return n
}
