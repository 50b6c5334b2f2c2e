package network

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// bucketNetworks holds one JSON record per network, keyed by network id.
// Endpoints live inside their network's record so that an IP allocation and
// the endpoint that owns it are written in the same transaction.
var bucketNetworks = []byte("networks.v1")

type store struct{ db *bolt.DB }

func (s store) init() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketNetworks)
		return err
	})
}

// load returns every stored network.
func (s store) load() (map[string]*Network, error) {
	nets := map[string]*Network{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketNetworks).ForEach(func(k, v []byte) error {
			n := &Network{}
			if err := json.Unmarshal(v, n); err != nil {
				return fmt.Errorf("network record %s is corrupt: %w", k, err)
			}
			if n.Endpoints == nil {
				n.Endpoints = map[string]*Endpoint{}
			}
			nets[n.ID] = n
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("network store: %w", err)
	}
	return nets, nil
}

// put writes n (network and endpoints) in one transaction.
func (s store) put(n *Network) error {
	data, err := json.Marshal(n)
	if err != nil {
		return err
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketNetworks).Put([]byte(n.ID), data)
	})
	if err != nil {
		return fmt.Errorf("network store: save %s: %w", n.Name, err)
	}
	return nil
}

func (s store) delete(id string) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketNetworks).Delete([]byte(id))
	})
	if err != nil {
		return fmt.Errorf("network store: delete %s: %w", id, err)
	}
	return nil
}

// newID returns 64 random hex digits, docker's id format.
func newID() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return hex.EncodeToString(b[:])
}

// shortID is docker's 12-digit form of an id.
func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
