//go:build linux

package agent

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestRecordName(t *testing.T) {
	stored, err := json.Marshal(&record{ID: "abc", Name: "web", Created: time.Now(), Args: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, in string
		want     string
		ok       bool
	}{
		{"stored record", string(stored), "web", true},
		{"name first", `{"name":"a","id":"b"}`, "a", true},
		{"after nested values", `{"config":{"name":"inner","x":[1,{"name":"n"}]},"name":"outer"}`, "outer", true},
		{"no name", `{"id":"b"}`, "", true},
		{"name not a string", `{"name":3}`, "", false},
		{"not an object", `["name","a"]`, "", false},
		{"torn", `{"id":"b","na`, "", false},
		{"empty", ``, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := recordName([]byte(tc.in))
			if got != tc.want || ok != tc.ok {
				t.Errorf("recordName(%s) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestStoreNames checks name lookups and the uniqueness check among many
// records (findByName decodes only the matching one in full).
func TestStoreNames(t *testing.T) {
	s := newTestStore(t)
	for i := 0; i < 50; i++ {
		r := &record{ID: fmt.Sprintf("%064d", i), Name: fmt.Sprintf("c%d", i), Created: time.Now()}
		if err := s.insert(r); err != nil {
			t.Fatalf("insert %s: %v", r.Name, err)
		}
	}
	for _, tc := range []struct {
		ref, wantID string
		wantErr     bool
	}{
		{"c7", fmt.Sprintf("%064d", 7), false},
		{"/c49", fmt.Sprintf("%064d", 49), false},
		{"c50", "", true},
		{fmt.Sprintf("%064d", 3), fmt.Sprintf("%064d", 3), false},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			r, err := s.get(tc.ref)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("get(%s) = %s, want an error", tc.ref, r.ID)
				}
				return
			}
			if err != nil || r.ID != tc.wantID {
				t.Fatalf("get(%s) = %v, %v; want id %s", tc.ref, r, err, tc.wantID)
			}
		})
	}
	if err := s.insert(&record{ID: "x1", Name: "c12"}); err == nil {
		t.Errorf("insert of a taken name succeeded")
	}
	if _, err := s.rename(fmt.Sprintf("%064d", 1), "c2"); err == nil {
		t.Errorf("rename to a taken name succeeded")
	}
}

// TestStoreListShared checks that listShared decodes a record again only
// when it changed, and forgets removed ones.
func TestStoreListShared(t *testing.T) {
	s := newTestStore(t)
	for _, n := range []string{"a", "b", "c"} {
		if err := s.insert(&record{ID: "id-" + n, Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	byID := func() map[string]*record {
		t.Helper()
		recs, err := s.listShared()
		if err != nil {
			t.Fatalf("listShared: %v", err)
		}
		m := map[string]*record{}
		for _, r := range recs {
			m[r.ID] = r
		}
		return m
	}
	first := byID()
	if _, err := s.update("id-b", func(r *record) error { r.Name = "b2"; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.remove("id-c"); err != nil {
		t.Fatal(err)
	}
	second := byID()
	for _, tc := range []struct {
		id       string
		present  bool
		same     bool // the same decoded record as before
		wantName string
	}{
		{"id-a", true, true, "a"},
		{"id-b", true, false, "b2"},
		{"id-c", false, false, ""},
	} {
		t.Run(tc.id, func(t *testing.T) {
			r, ok := second[tc.id]
			if ok != tc.present {
				t.Fatalf("listed: %v, want %v", ok, tc.present)
			}
			if !ok {
				if _, cached := s.decoded[tc.id]; cached {
					t.Errorf("removed record still cached")
				}
				return
			}
			if (r == first[tc.id]) != tc.same || r.Name != tc.wantName {
				t.Errorf("record %+v (same as before: %v), want name %q, same %v", r, r == first[tc.id], tc.wantName, tc.same)
			}
		})
	}
}

// newTestStore opens a container store on a database of its own, closed at
// cleanup.
func newTestStore(t *testing.T) *containerStore {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "m.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := newContainerStore(db)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
