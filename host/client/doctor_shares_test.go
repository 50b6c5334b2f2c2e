package client

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/host/machine"
)

func TestCmdlineShares(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []vmShare
	}{
		{"none", "console=hvc0 berth.port=1024 berth.rosetta=rosetta", nil},
		{"each kind", "berth.share=berth0:%2FUsers%2FJane%20Doe berth.share9p=s1:/tmp/x berth.sharehv=drive-c:%2Fmnt%2Fhost%2Fc", []vmShare{
			{"berth0", "/Users/Jane Doe", "virtiofs"}, {"s1", "/tmp/x", "9p"}, {"drive-c", "/mnt/host/c", "9p"}}},
		{"bad ones skipped", "berth.share=nopath berth.share=t:relative berth.share=t:%zz berth.share=ok:/ok", []vmShare{{"ok", "/ok", "virtiofs"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := cmdlineShares(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("cmdlineShares = %+v, want %+v", got, tc.want)
			}
		})
	}
}

const testMountinfo = `22 1 0:21 / / rw,relatime shared:1 - tmpfs rootfs rw
23 22 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:2 - proc proc rw
30 22 0:30 / /Users/Jane\040Doe rw,relatime shared:9 - virtiofs berth0 rw
31 22 0:31 / /tmp/x rw,relatime shared:10 - 9p s1 rw,trans=virtio
32 22 0:32 / /mnt/host/c rw,relatime shared:11 - tmpfs tmpfs rw
33 32 0:33 / /mnt/host/c rw,relatime shared:12 - 9p drive-c rw,trans=fd
garbage line
`

func TestParseMountinfo(t *testing.T) {
	m := parseMountinfo(testMountinfo)
	want := map[string]string{"/": "tmpfs", "/proc": "proc", "/Users/Jane Doe": "virtiofs", "/tmp/x": "9p", "/mnt/host/c": "9p"}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("parseMountinfo = %v, want %v", m, want)
	}
	if got := unescapeMountinfo(`/a\040b\134c\04`); got != `/a b\c\04` {
		t.Errorf("unescapeMountinfo = %q", got)
	}
}

func TestShareProblems(t *testing.T) {
	mounts := parseMountinfo(testMountinfo)
	for _, tc := range []struct {
		name   string
		shares []vmShare
		want   []string
	}{
		{"all mounted", []vmShare{{"berth0", "/Users/Jane Doe", "virtiofs"}, {"drive-c", "/mnt/host/c", "9p"}}, nil},
		{"missing", []vmShare{{"berth1", "/Volumes", "virtiofs"}}, []string{`/Volumes is not mounted (virtiofs share "berth1")`}},
		{"wrong type", []vmShare{{"s1", "/tmp/x", "virtiofs"}}, []string{`/tmp/x is 9p, not the virtiofs share "s1"`}},
		{"only the parent mounted", []vmShare{{"s2", "/tmp/x/y", "9p"}}, []string{`/tmp/x/y is not mounted (9p share "s2")`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := shareProblems(tc.shares, mounts); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("shareProblems = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestShareLine(t *testing.T) {
	m := &machine.Machine{Name: "dev"}
	mounts := parseMountinfo(testMountinfo)
	for _, tc := range []struct {
		name   string
		shares []vmShare
		want   string
	}{
		{"none", nil, "[ok] folder shares: the machine shares no folders"},
		{"ok", []vmShare{{"s1", "/tmp/x", "9p"}}, "[ok] folder shares: mounted in the VM: /tmp/x"},
		{"fail", []vmShare{{"b", "/Volumes", "virtiofs"}}, `[fail] folder shares: /Volumes is not mounted (virtiofs share "b"); see `},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			d := &doctor{w: &out}
			d.shareLine(m, tc.shares, mounts)
			if !strings.HasPrefix(out.String(), tc.want) {
				t.Errorf("line = %q, want it to start with %q", out.String(), tc.want)
			}
			if fail := strings.HasPrefix(tc.want, "[fail]"); (d.fails == 1) != fail {
				t.Errorf("fails = %d", d.fails)
			}
		})
	}
}

func TestClockSkew(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	asked, answered := t0, t0.Add(300*time.Millisecond)
	for _, tc := range []struct {
		name  string
		guest time.Time
		want  time.Duration
	}{
		{"inside the round trip", t0.Add(100 * time.Millisecond), 0},
		{"at the ask", t0, 0},
		{"behind", t0.Add(-5 * time.Second), 5 * time.Second},
		{"ahead", t0.Add(3 * time.Second), 2700 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := clockSkew(asked, answered, tc.guest); got != tc.want {
				t.Errorf("clockSkew = %v, want %v", got, tc.want)
			}
		})
	}
}
