package e2e

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berth-dev/berth/internal/testimage"
)

// testImage is the busybox image a test built and pushed.
type testImage struct {
	ref     string   // 127.0.0.1:PORT/test/busybox:1
	repo    string   // 127.0.0.1:PORT/test/busybox
	id      string   // sha256:... of the config
	digest  string   // sha256:... of the manifest
	diffIDs []string // uncompressed layer digests
}

// busyboxImage builds a one-layer image from the host's static busybox:
// /bin/busybox and /bin/sh -> busybox, CMD ["sh"], created 15 days ago.
func busyboxImage(t *testing.T) v1.Image {
	t.Helper()
	// A file unique to this image makes its layer unique, so that no test
	// finds its layer already pulled by another one (they share a machine).
	nonce := fmt.Sprintf("%s %d\n", t.Name(), time.Now().UnixNano())
	return testimage.BusyboxImage(t, func(cf *v1.ConfigFile) {
		cf.Created = v1.Time{Time: time.Now().Add(-15 * 24 * time.Hour).UTC().Truncate(time.Second)}
		cf.Config.Labels = map[string]string{"e2e": "images"}
	}, testimage.File{Name: "etc/berth-e2e-id", Data: []byte(nonce)})
}

// serveImage starts an in-memory registry on 127.0.0.1 and pushes img to
// it as test/busybox:1.
func serveImage(t *testing.T, img v1.Image) testImage {
	t.Helper()
	host := testimage.Registry(t)
	ti := testImage{repo: host + "/test/busybox", ref: host + "/test/busybox:1"}
	testimage.Push(t, ti.ref, img)
	id, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	dg, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	ti.id, ti.digest = id.String(), dg.String()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		d, err := l.DiffID()
		if err != nil {
			t.Fatal(err)
		}
		ti.diffIDs = append(ti.diffIDs, d.String())
	}
	return ti
}

// TestImages walks the image commands in the order a user would: pull,
// list, tag, inspect, save, remove, load, prune, and the bad inputs.
func TestImages(t *testing.T) {
	requireBerth(t)
	emptyMachine(t) // the listings below expect this test's image only
	img := serveImage(t, busyboxImage(t))
	steps := []struct {
		name string
		fn   func(*testing.T, testImage)
	}{
		{"pull", testPull},
		{"images", testImagesList},
		{"images json", testImagesJSON},
		{"tag", testTag},
		{"inspect", testInspect},
		{"save rmi load", testSaveRmiLoad},
		{"push history", testPushHistory},
		{"login push", testLoginPush},
		{"bad inputs", testBadInputs},
		{"prune", testPrune},
		{"pull interrupted", testPullInterrupted},
		{"pull on a terminal", testPullOnTerminal},
	}
	for _, s := range steps {
		if !t.Run(s.name, func(t *testing.T) { s.fn(t, img) }) {
			return // later steps depend on this one
		}
	}
}

func testPull(t *testing.T, img testImage) {
	r := berthOK(t, "pull", img.ref)
	t.Logf("berth pull %s:\n%s", img.ref, r.stdout)
	lines := r.lines()
	if len(lines) == 0 || lines[len(lines)-1] != img.ref {
		t.Fatalf("last line is not the reference %s:\n%s", img.ref, r)
	}
	for _, want := range []string{"1: Pulling from test/busybox", ": Pull complete", "Digest: " + img.digest, "Status: Downloaded newer image for " + img.ref} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("pull output lacks %q:\n%s", want, r)
		}
	}
	if strings.Contains(r.stdout, "\x1b[") {
		t.Errorf("escape sequences written to a pipe:\n%q", r.stdout)
	}
	again := berthOK(t, "pull", "-q", img.ref)
	if again.stdout != img.ref+"\n" {
		t.Errorf("pull -q printed %q, want the reference only", again.stdout)
	}
}

var imagesHeader = regexp.MustCompile(`^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$`)

func testImagesList(t *testing.T, img testImage) {
	r := berthOK(t, "images")
	t.Logf("berth images:\n%s", r.stdout)
	lines := r.lines()
	if len(lines) != 2 || !imagesHeader.MatchString(lines[0]) {
		t.Fatalf("want a header and one image:\n%s", r)
	}
	row := regexp.MustCompile(`^` + regexp.QuoteMeta(img.repo) + ` +1 +` + shortID(img.id) + ` +2 weeks ago +[0-9.]+[kM]B$`)
	if !row.MatchString(lines[1]) {
		t.Errorf("row %q does not match %s", lines[1], row)
	}
	// Columns line up: every cell starts where its header starts.
	for _, h := range []string{"TAG", "IMAGE ID", "CREATED", "SIZE"} {
		col := strings.Index(lines[0], h)
		if col < 1 || lines[1][col-1] != ' ' || lines[1][col] == ' ' {
			t.Errorf("column %s at %d is not aligned:\n%s\n%s", h, col, lines[0], lines[1])
		}
	}
	if q := berthOK(t, "images", "-q"); q.stdout != shortID(img.id)+"\n" {
		t.Errorf("images -q: %q", q.stdout)
	}
	if q := berthOK(t, "image", "ls", "--no-trunc", "-q"); q.stdout != img.id+"\n" {
		t.Errorf("image ls --no-trunc -q: %q", q.stdout)
	}
	d := berthOK(t, "images", "--digests", "--format", "{{.Repository}} {{.Digest}}")
	if d.stdout != img.repo+" "+img.digest+"\n" {
		t.Errorf("images --digests: %q, want %q", d.stdout, img.repo+" "+img.digest)
	}
	if f := berthOK(t, "images", "-f", "dangling=true", "-q"); f.stdout != "" {
		t.Errorf("dangling images: %q", f.stdout)
	}
	if f := berthOK(t, "images", "-q", "-f", "label=e2e=images"); f.stdout != shortID(img.id)+"\n" {
		t.Errorf("label filter: %q", f.stdout)
	}
}

func testImagesJSON(t *testing.T, img testImage) {
	r := berthOK(t, "images", "--format", "json")
	lines := r.lines()
	if len(lines) != 1 {
		t.Fatalf("want one JSON line:\n%s", r)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, lines[0])
	}
	want := map[string]string{"ID": shortID(img.id), "Repository": img.repo, "Tag": "1", "CreatedSince": "2 weeks ago", "Digest": "<none>"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	keys := []string{"Containers", "CreatedAt", "CreatedSince", "Digest", "ID", "Repository", "SharedSize", "Size", "Tag", "UniqueSize", "VirtualSize"}
	for _, k := range keys {
		if _, ok := got[k]; !ok {
			t.Errorf("field %s missing", k)
		}
	}
	if len(got) != len(keys) {
		t.Errorf("fields %v, want exactly %v", got, keys)
	}
}

func testTag(t *testing.T, img testImage) {
	berthOK(t, "tag", img.ref, "e2e/other:2")
	r := berthOK(t, "images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}")
	want := []string{img.ref + " " + shortID(img.id), "e2e/other:2 " + shortID(img.id)}
	got := r.lines()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("images after tag: %q, want %q", got, want)
	}
	if f := berthOK(t, "images", "-q", "e2e/other"); f.stdout != shortID(img.id)+"\n" {
		t.Errorf("images e2e/other: %q", f.stdout)
	}
}

func shortID(id string) string { return strings.TrimPrefix(id, "sha256:")[:12] }

// emptyMachine removes every container and image from the shared e2e
// machine, for tests that check whole listings.
func emptyMachine(t *testing.T) {
	t.Helper()
	if ids := berthOK(t, "ps", "-aq").lines(); len(ids) > 0 {
		berthOK(t, append([]string{"rm", "-f"}, ids...)...)
	}
	berthOK(t, "image", "prune", "-a", "-f")
	if left := berthOK(t, "images", "-q").lines(); len(left) > 0 {
		t.Fatalf("images left after prune -a: %v", left)
	}
}
