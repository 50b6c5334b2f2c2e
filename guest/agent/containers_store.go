//go:build linux

package agent

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	ctypes "github.com/moby/moby/api/types/container"
	ntypes "github.com/moby/moby/api/types/network"
	bolt "go.etcd.io/bbolt"
)

// containersBucket holds one JSON record per container, keyed by id.
var containersBucket = []byte("containers.v1")

// record is a container as the engine stores it: docker's create
// configuration, what was resolved from it, and the container's state.
type record struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"` // without the leading "/"
	Created time.Time `json:"created"`
	// Image is the image as the user named it; ImageID its config digest.
	Image      string             `json:"image"`
	ImageID    string             `json:"imageId"`
	Path       string             `json:"path"`
	Args       []string           `json:"args"`
	Config     *ctypes.Config     `json:"config"`
	HostConfig *ctypes.HostConfig `json:"hostConfig"`
	// Networks are the networks the container is connected to by name,
	// with the endpoint details filled in while it runs.
	Networks map[string]*ntypes.EndpointSettings `json:"networks,omitempty"`
	Mounts   []mountRecord                       `json:"mounts,omitempty"`
	State    stateRecord                         `json:"state"`
	Platform string                              `json:"platform,omitempty"`
	// ManualStop is set when a user stopped the container, so restart
	// policies leave it alone (unless-stopped also across agent restarts).
	ManualStop bool `json:"manualStop,omitempty"`
	// HasStarted is set once the container was started the first time.
	HasStarted bool `json:"hasStarted,omitempty"`
}

// mountRecord is one resolved mount of a container.
type mountRecord struct {
	Type        string `json:"type"` // bind, volume, tmpfs
	Name        string `json:"name,omitempty"`
	Source      string `json:"source,omitempty"`
	Destination string `json:"destination"`
	RW          bool   `json:"rw"`
	Mode        string `json:"mode,omitempty"`
	Anonymous   bool   `json:"anonymous,omitempty"`
	TmpfsSize   int64  `json:"tmpfsSize,omitempty"`
	TmpfsMode   uint32 `json:"tmpfsMode,omitempty"`
}

// stateRecord is a container's last known state.
type stateRecord struct {
	Status       string    `json:"status"`
	Pid          int       `json:"pid,omitempty"`
	ExitCode     int       `json:"exitCode"`
	Error        string    `json:"error,omitempty"`
	StartedAt    time.Time `json:"startedAt,omitzero"`
	FinishedAt   time.Time `json:"finishedAt,omitzero"`
	OOMKilled    bool      `json:"oomKilled,omitempty"`
	RestartCount int       `json:"restartCount,omitempty"`
}

// containerStore keeps the records in bbolt. Every change is one update
// transaction, so names stay unique and a crash never half-writes a record.
type containerStore struct {
	db *bolt.DB

	mu sync.Mutex
	// decoded caches the records listShared decoded, by id, with the bytes
	// they were decoded from.
	decoded map[string]decodedRecord
}

type decodedRecord struct {
	raw []byte
	r   *record
}

func newContainerStore(db *bolt.DB) (*containerStore, error) {
	err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(containersBucket)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("containers: %w", err)
	}
	return &containerStore{db: db, decoded: map[string]decodedRecord{}}, nil
}

// newContainerID returns 64 random hex digits that do not look like a
// number (docker avoids all-digit short ids, which could be taken as one).
func newContainerID() string {
	for {
		var b [32]byte
		_, _ = rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		if strings.Trim(id[:12], "0123456789") != "" {
			return id
		}
	}
}

func errNoSuchContainer(ref string) error {
	return newKindError(errdefs.ErrNotFound, "No such container: %s", ref)
}

func errNameInUse(name, id string) error {
	return newKindError(errdefs.ErrConflict,
		"Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.", name, id)
}

// kindError carries docker's exact wording while matching an errdefs kind.
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

func newKindError(kind error, format string, args ...any) error {
	return &kindError{msg: fmt.Sprintf(format, args...), kind: kind}
}

// insert stores a new record, failing when its name is taken.
func (s *containerStore) insert(r *record) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(containersBucket)
		if other := findByName(b, r.Name); other != nil {
			return errNameInUse(r.Name, other.ID)
		}
		return putRecord(b, r)
	})
}

// get resolves ref (full id, name with or without "/", or unique id
// prefix) to its record.
func (s *containerStore) get(ref string) (*record, error) {
	var r *record
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		r, err = lookupRecord(tx.Bucket(containersBucket), ref)
		return err
	})
	return r, err
}

// update applies fn to the current record of id atomically. fn may return
// an error to leave the record unchanged.
func (s *containerStore) update(id string, fn func(*record) error) (*record, error) {
	var out *record
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(containersBucket)
		r, err := readRecord(b, []byte(id))
		if err != nil {
			return err
		}
		if r == nil {
			return errNoSuchContainer(id)
		}
		if err := fn(r); err != nil {
			return err
		}
		out = r
		return putRecord(b, r)
	})
	return out, err
}

// rename changes a container's name atomically with the uniqueness check.
func (s *containerStore) rename(id, name string) (old string, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(containersBucket)
		if other := findByName(b, name); other != nil {
			return errNameInUse(name, other.ID)
		}
		r, err := readRecord(b, []byte(id))
		if err != nil || r == nil {
			return errors.Join(err, errNoSuchContainer(id))
		}
		old = r.Name
		r.Name = name
		return putRecord(b, r)
	})
	return old, err
}

func (s *containerStore) remove(id string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(containersBucket).Delete([]byte(id))
	})
}

// list returns every record, in no particular order.
func (s *containerStore) list() ([]*record, error) {
	var out []*record
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(containersBucket).ForEach(func(k, v []byte) error {
			var r record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("container %s: bad record: %w", k, err)
			}
			out = append(out, &r)
			return nil
		})
	})
	return out, err
}

// listShared returns every record like list, but records that did not
// change since the last call are not decoded again (a record is a few
// kB of docker's JSON; decoding 100 of them was the largest part of
// `ps`). The records are shared between callers: read them, never
// modify them.
func (s *containerStore) listShared() ([]*record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*record
	seen := make(map[string]bool, len(s.decoded))
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(containersBucket).ForEach(func(k, v []byte) error {
			id := string(k)
			seen[id] = true
			if d, ok := s.decoded[id]; ok && bytes.Equal(d.raw, v) {
				out = append(out, d.r)
				return nil
			}
			var r record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("container %s: bad record: %w", k, err)
			}
			s.decoded[id] = decodedRecord{raw: bytes.Clone(v), r: &r}
			out = append(out, &r)
			return nil
		})
	})
	for id := range s.decoded {
		if !seen[id] {
			delete(s.decoded, id)
		}
	}
	return out, err
}

func lookupRecord(b *bolt.Bucket, ref string) (*record, error) {
	if ref == "" {
		return nil, newKindError(errdefs.ErrInvalidArgument, "no container name or id given")
	}
	if r, err := readRecord(b, []byte(ref)); r != nil || err != nil {
		return r, err
	}
	if r := findByName(b, strings.TrimPrefix(ref, "/")); r != nil {
		return r, nil
	}
	var found *record
	c := b.Cursor()
	for k, v := c.Seek([]byte(ref)); k != nil && strings.HasPrefix(string(k), ref); k, v = c.Next() {
		if found != nil {
			return nil, newKindError(errdefs.ErrInvalidArgument, "multiple IDs found with provided prefix: %s", ref)
		}
		var r record
		if err := json.Unmarshal(v, &r); err != nil {
			return nil, err
		}
		found = &r
	}
	if found == nil {
		return nil, errNoSuchContainer(ref)
	}
	return found, nil
}

// findByName scans the records for name. Only the name of each record is
// decoded (it comes second, after the id), and the match in full: a
// create checks the name twice, inside the write transaction, so a full
// decode of every record made creating the 100th container slow.
func findByName(b *bolt.Bucket, name string) *record {
	var found *record
	_ = b.ForEach(func(_, v []byte) error {
		if n, ok := recordName(v); ok && n != name {
			return nil
		}
		var r record
		if json.Unmarshal(v, &r) == nil && r.Name == name {
			found = &r
			return errStop
		}
		return nil
	})
	return found
}

// recordName reads the "name" member of a stored record without decoding
// the rest; ok is false when the record does not read as expected (the
// caller then decodes it in full).
func recordName(v []byte) (name string, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(v))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", false
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return "", false
		}
		if k != "name" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return "", false
			}
			continue
		}
		t, err := dec.Token()
		n, isString := t.(string)
		return n, err == nil && isString
	}
	return "", true // no name member: the empty name
}

var errStop = errors.New("stop")

func readRecord(b *bolt.Bucket, id []byte) (*record, error) {
	v := b.Get(id)
	if v == nil {
		return nil, nil
	}
	var r record
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("container %s: bad record: %w", id, err)
	}
	return &r, nil
}

func putRecord(b *bolt.Bucket, r *record) error {
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return b.Put([]byte(r.ID), v)
}
