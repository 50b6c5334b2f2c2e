package e2e

import (
	"regexp"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/testimage"
)

// testPushHistory: berth push to a second registry on 127.0.0.1 with
// docker's output, the pushed image pulled back after rmi and run, and
// berth history with docker's columns.
func testPushHistory(t *testing.T, img testImage) {
	target := testimage.Registry(t) + "/pushed/busybox:v1"
	berthOK(t, "tag", img.ref, target)
	r := berthOK(t, "push", target)
	t.Logf("berth push %s:\n%s", target, r.stdout)
	repo := strings.TrimSuffix(target, ":v1")
	for _, want := range []string{"The push refers to repository [" + repo + "]", ": Pushed", "v1: digest: " + img.digest + " size: "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("push output lacks %q:\n%s", want, r)
		}
	}
	if again := berthOK(t, "push", target); !strings.Contains(again.stdout, ": Layer already exists") {
		t.Errorf("second push should find the layer there:\n%s", again)
	}
	if bad := berth(t, nil, "push", repo+":nope"); bad.code == 0 || !strings.Contains(bad.stderr, "does not exist locally with the tag") {
		t.Errorf("push of a missing tag: %s", bad)
	}
	berthOK(t, "rmi", target)
	berthOK(t, "pull", "-q", target)
	if out := berthOK(t, "run", "--rm", target, "sh", "-c", "echo pushed and pulled"); out.stdout != "pushed and pulled\n" {
		t.Errorf("run of the pushed image printed %q", out.stdout)
	}

	h := berthOK(t, "history", target)
	t.Logf("berth history:\n%s", h.stdout)
	lines := h.lines()
	header := regexp.MustCompile(`^IMAGE +CREATED +CREATED BY +SIZE +COMMENT$`)
	if len(lines) < 2 || !header.MatchString(lines[0]) || !strings.HasPrefix(lines[1], shortID(img.id)+" ") {
		t.Errorf("history output:\n%s", h)
	}
	if q := berthOK(t, "image", "history", "-q", "--no-trunc", target); q.lines()[0] != img.id {
		t.Errorf("history -q --no-trunc first line %q, want %s", q.lines()[0], img.id)
	}
	berthOK(t, "rmi", target)
}

// testLoginPush: a registry that wants a password refuses an anonymous
// push with docker's words; after `berth login --password-stdin` (stored in
// $DOCKER_CONFIG like docker does) the push goes through; logout forgets.
func testLoginPush(t *testing.T, img testImage) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	host := testimage.AuthRegistry(t, "alice", "s3cret")
	target := host + "/private/busybox:v1"
	berthOK(t, "tag", img.ref, target)
	defer berth(t, nil, "rmi", target)
	if r := berth(t, nil, "push", target); r.code == 0 || !strings.Contains(r.stderr, "denied") {
		t.Errorf("anonymous push to a private registry: %s", r)
	}
	if r := berth(t, strings.NewReader("wrong\n"), "login", "-u", "alice", "--password-stdin", host); r.code == 0 ||
		!strings.Contains(r.stderr, "incorrect username or password") {
		t.Errorf("login with a wrong password: %s", r)
	}
	r := berth(t, strings.NewReader("s3cret\n"), "login", "-u", "alice", "--password-stdin", host)
	if r.code != 0 || r.stdout != "Login Succeeded\n" {
		t.Fatalf("login: %s", r)
	}
	if r := berthOK(t, "push", target); !strings.Contains(r.stdout, ": Pushed") {
		t.Errorf("push after login:\n%s", r)
	}
	if r := berthOK(t, "logout", host); r.stdout != "Removing login credentials for "+host+"\n" {
		t.Errorf("logout printed %q", r.stdout)
	}
	if r := berth(t, nil, "pull", target); r.code == 0 {
		t.Errorf("pull after logout should be refused: %s", r)
	}
}
