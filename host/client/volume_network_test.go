package client

import (
	"strings"
	"testing"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

func TestVolumeCommands(t *testing.T) {
	c, h, out, _ := newEngineCLI(t, "")
	if msg, code := execCmd(t, c.newVolumeCommand(), "create", "-l", "team=core", "-o", "type=tmpfs", "data"); code != 0 || out.String() != "data\n" {
		t.Fatalf("create: %d %q %q", code, msg, out)
	}
	execCmd(t, c.newVolumeCommand(), "create", "busy")
	out.Reset()
	execCmd(t, c.newVolumeCommand(), "ls")
	if out.String() != "DRIVER    VOLUME NAME\nlocal     busy\nlocal     data\n" {
		t.Errorf("ls:\n%s", out)
	}
	out.Reset()
	execCmd(t, c.newVolumeCommand(), "inspect", "data")
	want := `[
    {
        "Driver": "local",
        "Labels": {
            "team": "core"
        },
        "Mountpoint": "/var/lib/berth/volumes/data/_data",
        "Name": "data",
        "Options": {
            "type": "tmpfs"
        },
        "Scope": "local"
    }
]
`
	if out.String() != want {
		t.Errorf("inspect:\n%s\nwant\n%s", out, want)
	}
	out.Reset()
	msg, code := execCmd(t, c.newVolumeCommand(), "rm", "data", "busy", "nope")
	if code != 1 || out.String() != "data\n" || msg != "Error response from daemon: remove busy: volume is in use - [abc]\nError response from daemon: get nope: no such volume\n" {
		t.Errorf("rm: %d %q stdout %q", code, msg, out)
	}
	out.Reset()
	if _, code := execCmd(t, c.newVolumeCommand(), "prune", "-a", "-f"); code != 0 || out.String() != "Deleted Volumes:\nv1\n\nTotal reclaimed space: 1.024kB\n" || h.vols.reqs[0] != "prune all=true" {
		t.Errorf("prune: %q %v", out, h.vols.reqs)
	}
	if msg, code := execCmd(t, c.newVolumeCommand(), "create", "--name", "a", "b"); code != 1 || !strings.Contains(msg, "conflicting options") {
		t.Errorf("name twice: %d %q", code, msg)
	}
}

func TestNetworkCommands(t *testing.T) {
	c, h, out, _ := newEngineCLI(t, "")
	if msg, code := execCmd(t, c.newNetworkCommand(), "create", "--subnet", "10.9.0.0/24", "--internal", "app"); code != 0 || len(strings.TrimSpace(out.String())) != 64 {
		t.Fatalf("create: %d %q %q", code, msg, out)
	}
	if h.nets.calls[0] != "create app bridge subnet=10.9.0.0/24 internal=true" {
		t.Errorf("calls %v", h.nets.calls)
	}
	out.Reset()
	execCmd(t, c.newNetworkCommand(), "ls")
	id := h.nets.nets[0].Id[:12]
	if out.String() != "NETWORK ID     NAME      DRIVER    SCOPE\n"+id+"   app       bridge    local\n" {
		t.Errorf("ls:\n%s", out)
	}
	if _, code := execCmd(t, c.newNetworkCommand(), "connect", "--alias", "db", "--ip", "10.9.0.9", "app", "web"); code != 0 || h.nets.calls[1] != "connect app web [db] 10.9.0.9" {
		t.Errorf("connect: %d %v", code, h.nets.calls)
	}
	out.Reset()
	msg, code := execCmd(t, c.newNetworkCommand(), "rm", "app", "nope")
	if code != 1 || out.String() != "app\n" || msg != "Error response from daemon: network nope not found\n" {
		t.Errorf("rm: %d %q %q", code, msg, out)
	}
	for _, bad := range [][]string{{"create", "--subnet", "10.0.0.0/33", "x"}, {"create", "--gateway", "10.0.0.1", "x"}} {
		if _, code := execCmd(t, c.newNetworkCommand(), bad...); code == 0 {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestSystemDfAndPrune(t *testing.T) {
	c, h, out, _ := newEngineCLI(t, "")
	h.imgs.images = []*agentv1.Image{{Id: "sha256:a", RepoTags: []string{"a:1"}, Size: 3000, Containers: 1}, {Id: "sha256:b", RepoTags: []string{"b:1"}, Size: 1000}}
	h.ctrs.add(&fakeCtr{name: "web", state: "running"})
	h.vols.vols = []*agentv1.Volume{{Name: "v", Size: 500, RefCount: 0}}
	if msg, code := execCmd(t, c.newSystemCommand(), "df"); code != 0 {
		t.Fatalf("df: %d %s", code, msg)
	}
	want := "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE\n" +
		"Images          2         1         4kB       1kB (25%)\n" +
		"Containers      1         1         0B        0B\n" +
		"Local Volumes   1         0         500B      500B (100%)\n" +
		"Build Cache     0         0         0B        0B\n"
	if out.String() != want {
		t.Errorf("df:\n%s\nwant\n%s", out, want)
	}
	out.Reset()
	c.in = strings.NewReader("y\n")
	if msg, code := execCmd(t, c.newSystemCommand(), "prune", "--volumes"); code != 0 {
		t.Fatalf("prune: %d %s", code, msg)
	}
	want = "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n" +
		"  - all anonymous volumes not used by at least one container\n  - all dangling images\n\nAre you sure you want to continue? [y/N] " +
		"Deleted Containers:\naaa\nbbb\n\nDeleted Networks:\nunused\n\nDeleted Volumes:\nv1\n\nDeleted Images:\ndeleted: sha256:dead\n\nTotal reclaimed space: 4.072kB\n"
	if out.String() != want {
		t.Errorf("prune:\n%q\nwant\n%q", out, want)
	}
	out.Reset()
	c.in = strings.NewReader("n\n")
	execCmd(t, c.newContainerCommand(), "prune")
	if !strings.HasSuffix(out.String(), "[y/N] Total reclaimed space: 0B\n") || strings.Contains(strings.Join(h.ctrs.calls, ";"), "prune containers [] ;") {
		t.Errorf("declined prune: %q", out)
	}
}
