//go:build linux

package build

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	bolt "go.etcd.io/bbolt"
)

var (
	bucketRoot  = []byte("build.v1")
	bucketCache = []byte("cache") // parent id "\n" step key -> child image id
)

// cache is docker's classic layer cache: a step is reused when an image
// with the same parent was made by the same instruction with the same
// resulting config. It maps (parent, key) to the child image.
type cache struct {
	db *bolt.DB
}

func openCache(db *bolt.DB) (*cache, error) {
	err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketRoot)
		if err != nil {
			return err
		}
		_, err = b.CreateBucketIfNotExists(bucketCache)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("build cache: %w", err)
	}
	return &cache{db: db}, nil
}

// cacheKey identifies a step: the history line it writes and the config it
// leaves (docker compares the child's container config).
func cacheKey(createdBy string, cfg v1.Config) string {
	b, _ := json.Marshal(struct {
		CreatedBy string
		Config    v1.Config
	}{createdBy, cfg})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func (c *cache) get(parent, key string) (string, bool) {
	var id string
	_ = c.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketRoot).Bucket(bucketCache).Get([]byte(parent + "\n" + key)); v != nil {
			id = string(v)
		}
		return nil
	})
	return id, id != ""
}

func (c *cache) put(parent, key, id string) error {
	err := c.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRoot).Bucket(bucketCache).Put([]byte(parent+"\n"+key), []byte(id))
	})
	if err != nil {
		return fmt.Errorf("build cache: %w", err)
	}
	return nil
}
