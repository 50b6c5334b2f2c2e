package e2e

import (
	"crypto/rand"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func testInspect(t *testing.T, img testImage) {
	r := berthOK(t, "image", "inspect", img.ref)
	t.Logf("berth image inspect %s:\n%s", img.ref, r.stdout)
	if !strings.HasPrefix(r.stdout, "[\n    {\n        \"Id\": ") {
		t.Errorf("not docker's 4-space indented array:\n%s", r.stdout)
	}
	var got []struct {
		ID          string `json:"Id"`
		RepoTags    []string
		RepoDigests []string
		Created     string
		Config      struct {
			Cmd    []string
			Env    []string
			Labels map[string]string
		}
		Architecture, Os string
		Size             int64
		GraphDriver      struct{ Name string }
		RootFS           struct {
			Type   string
			Layers []string
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || len(got) != 1 {
		t.Fatalf("inspect JSON (%v):\n%s", err, r.stdout)
	}
	g := got[0]
	slices.Sort(g.RepoTags)
	switch {
	case g.ID != img.id:
		t.Errorf("Id %s, want %s", g.ID, img.id)
	case !slices.Equal(g.RepoTags, []string{img.ref, "e2e/other:2"}):
		t.Errorf("RepoTags %v", g.RepoTags)
	case !slices.Contains(g.RepoDigests, img.repo+"@"+img.digest):
		t.Errorf("RepoDigests %v, want %s@%s", g.RepoDigests, img.repo, img.digest)
	case !slices.Equal(g.Config.Cmd, []string{"sh"}) || g.Config.Labels["e2e"] != "images":
		t.Errorf("Config %+v", g.Config)
	case g.Os != "linux" || g.Size <= 0 || g.GraphDriver.Name != "overlay2" || g.Created == "":
		t.Errorf("Os %q Size %d GraphDriver %q Created %q", g.Os, g.Size, g.GraphDriver.Name, g.Created)
	case g.RootFS.Type != "layers" || !slices.Equal(g.RootFS.Layers, img.diffIDs):
		t.Errorf("RootFS %+v, want layers %v", g.RootFS, img.diffIDs)
	}
	f := berthOK(t, "image", "inspect", "-f", "{{.Id}} {{.Os}}", "e2e/other:2")
	if f.stdout != img.id+" linux\n" {
		t.Errorf("inspect -f: %q", f.stdout)
	}
}

func testSaveRmiLoad(t *testing.T, img testImage) {
	file := filepath.Join(t.TempDir(), "busybox.tar")
	berthOK(t, "save", "-o", file, img.ref)
	if st, err := os.Stat(file); err != nil || st.Size() < 1<<20 {
		t.Fatalf("saved tarball: %v (%v bytes)", err, st)
	}
	if r := berthOK(t, "rmi", "e2e/other:2"); r.stdout != "Untagged: e2e/other:2\n" {
		t.Errorf("rmi of one of two tags:\n%s", r)
	}
	r := berthOK(t, "rmi", img.ref)
	t.Logf("berth rmi %s:\n%s", img.ref, r.stdout)
	lines := r.lines()
	if len(lines) < 2 || lines[0] != "Untagged: "+img.ref || !slices.Contains(lines, "Deleted: "+img.id) {
		t.Errorf("rmi of the last tag should untag and delete %s:\n%s", img.id, r)
	}
	if q := berthOK(t, "images", "-q"); q.stdout != "" {
		t.Fatalf("images left after rmi: %q", q.stdout)
	}
	l := berthOK(t, "load", "-i", file)
	if !strings.Contains(l.stdout, "Loaded image: "+img.ref) {
		t.Errorf("load:\n%s", l)
	}
	if q := berthOK(t, "images", "-q", "--no-trunc"); q.stdout != img.id+"\n" {
		t.Errorf("after load: %q, want the same id %s", q.stdout, img.id)
	}
	// stdin and stdout work as well: save | load.
	out := berthOK(t, "save", img.ref)
	in := berth(t, strings.NewReader(out.stdout), "load")
	if in.code != 0 || !strings.Contains(in.stdout, "Loaded image: "+img.ref) {
		t.Errorf("save | load:\n%s", in)
	}
}

// testBadInputs checks that each mistake is one clear line on stderr, a
// non-zero exit, and leaves the images as they were.
func testBadInputs(t *testing.T, img testImage) {
	before := berthOK(t, "images", "-q", "--no-trunc").stdout
	corrupt := filepath.Join(t.TempDir(), "corrupt.tar")
	junk := make([]byte, 64<<10)
	rand.Read(junk)
	if err := os.WriteFile(corrupt, junk, 0o644); err != nil {
		t.Fatal(err)
	}
	closed := closedPort(t)
	tests := []struct {
		name string
		args []string
		want string // in the one line of stderr
	}{
		{"malformed reference", []string{"pull", "Bad::Ref"}, "invalid reference format"},
		{"unknown image inspect", []string{"image", "inspect", "nope"}, "Error: No such image: nope:latest"},
		{"unknown image rmi", []string{"rmi", "nope"}, "Error response from daemon: No such image: nope:latest"},
		{"unknown image tag", []string{"tag", "nope", "x:1"}, "No such image: nope:latest"},
		{"unknown image save", []string{"save", "-o", filepath.Join(t.TempDir(), "x.tar"), "nope"}, "nope"},
		{"registry down", []string{"pull", closed + "/test/busybox:1"}, closed},
		{"corrupt tarball", []string{"load", "-i", corrupt}, "Error"},
		{"missing argument", []string{"rmi"}, `"berth rmi" requires at least 1 argument.`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := berth(t, nil, tt.args...)
			t.Logf("berth %s: exit %d: %s", strings.Join(tt.args, " "), r.code, r.stderr)
			lines := r.errLines()
			if r.code == 0 || len(lines) == 0 || !strings.Contains(lines[0], tt.want) {
				t.Errorf("want a non-zero exit and %q:\n%s", tt.want, r)
			}
			if tt.name != "missing argument" && len(lines) != 1 {
				t.Errorf("want one line on stderr, got %d:\n%s", len(lines), r.stderr)
			}
		})
	}
	if after := berthOK(t, "images", "-q", "--no-trunc").stdout; after != before {
		t.Errorf("images changed by bad inputs: %q, was %q", after, before)
	}
}

// closedPort returns 127.0.0.1:PORT where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func testPrune(t *testing.T, img testImage) {
	d := berthOK(t, "image", "prune", "-f")
	if !strings.HasPrefix(d.stdout, "Total reclaimed space: ") {
		t.Errorf("prune of dangling images with none:\n%s", d)
	}
	if q := berthOK(t, "images", "-q"); q.stdout != shortID(img.id)+"\n" {
		t.Errorf("prune without -a removed a tagged image: %q", q.stdout)
	}
	r := berthOK(t, "image", "prune", "-a", "-f")
	t.Logf("berth image prune -a -f:\n%s", r.stdout)
	if !strings.HasPrefix(r.stdout, "Deleted Images:\n") || !strings.Contains(r.stdout, "deleted: "+img.id) ||
		!strings.Contains(r.stdout, "\nTotal reclaimed space: ") {
		t.Errorf("prune -a -f:\n%s", r)
	}
	if q := berthOK(t, "images", "-q"); q.stdout != "" {
		t.Errorf("images left after prune -a: %q", q.stdout)
	}
}
