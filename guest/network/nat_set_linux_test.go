package network

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"slices"
	"testing"

	"github.com/google/nftables"
)

// TestBridgesSetElements checks the isolation set holds each bridge's name
// as nftables compares interface names (16 bytes, NUL padded), and that the
// nft tool shows those names rather than "" (which it did while the set
// carried no key byte order: nft then read the strings backwards).
func TestBridgesSetElements(t *testing.T) {
	e := newTestEnv(t)
	m := e.open(t)
	n := mustCreate(t, m, CreateOptions{Name: "nat1", Subnet: "10.251.40.0/24"})
	want := []string{"bt0", n.Bridge}
	slices.Sort(want)

	c := nftIn(t, e.agentNS)
	table := &nftables.Table{Name: TableName, Family: nftables.TableFamilyIPv4}
	set, err := c.GetSetByName(table, "bridges")
	if err != nil {
		t.Fatalf("get set: %v", err)
	}
	if set.KeyType.Bytes != 16 || set.KeyType.Name != nftables.TypeIFName.Name {
		t.Errorf("set key type %s of %d bytes, want ifname of 16", set.KeyType.Name, set.KeyType.Bytes)
	}
	elems, err := c.GetSetElements(set)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, el := range elems {
		if len(el.Key) != 16 {
			t.Errorf("element %q is %d bytes, want 16", el.Key, len(el.Key))
		}
		got = append(got, string(bytes.TrimRight(el.Key, "\x00")))
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("set elements %q, want %q", got, want)
	}

	nft, err := exec.LookPath("nft")
	if err != nil {
		t.Skip("nft is not installed: cannot check how it shows the set (apt-get install nftables)")
	}
	out, err := exec.CommandContext(context.Background(), "nsenter", "--net="+e.agentNS, nft, "-j", "list", "set", "ip", TableName, "bridges").Output()
	if err != nil {
		t.Fatalf("nft list set: %v", err)
	}
	if shown := nftSetElems(t, out); !slices.Equal(shown, want) {
		t.Errorf("nft shows elements %q, want %q", shown, want)
	}
}

// nftSetElems extracts the elements of the one set in nft -j output.
func nftSetElems(t *testing.T, out []byte) []string {
	t.Helper()
	var doc struct {
		Nftables []struct {
			Set *struct {
				Elem []string `json:"elem"`
			} `json:"set"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("parse nft output %s: %v", out, err)
	}
	for _, o := range doc.Nftables {
		if o.Set != nil {
			s := slices.Clone(o.Set.Elem)
			slices.Sort(s)
			return s
		}
	}
	t.Fatalf("no set in nft output %s", out)
	return nil
}
