package registryauth

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

func TestServerKey(t *testing.T) {
	for in, want := range map[string]string{
		"":                                IndexServer,
		"docker.io":                       IndexServer,
		"https://index.docker.io/v1/":     IndexServer,
		"registry-1.docker.io":            IndexServer,
		"127.0.0.1:5000":                  "127.0.0.1:5000",
		"https://ghcr.io/v2/":             "ghcr.io",
		"http://localhost:5000/some/repo": "localhost:5000",
	} {
		if got := ServerKey(in); got != want {
			t.Errorf("ServerKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestStoreErase: credentials land in $DOCKER_CONFIG/config.json next to
// what was there, the keychain every pull uses finds them, and Erase
// removes only them.
func TestStoreErase(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	cfg := filepath.Join(dir, "config.json")
	os.WriteFile(cfg, []byte(`{"auths":{"other:1":{"auth":"eDp5"}},"detachKeys":"ctrl-x"}`), 0o600)
	where, err := Store("127.0.0.1:5000", "alice", "s3cret")
	if err != nil || where != cfg {
		t.Fatalf("Store = %q, %v", where, err)
	}
	if fi, _ := os.Stat(cfg); fi.Mode().Perm() != 0o600 {
		t.Errorf("config.json mode %v, want 0600", fi.Mode().Perm())
	}
	reg, _ := name.NewRegistry("127.0.0.1:5000")
	a, err := authn.DefaultKeychain.Resolve(reg)
	if err != nil {
		t.Fatal(err)
	}
	ac, _ := a.Authorization()
	if ac.Username != "alice" || ac.Password != "s3cret" {
		t.Errorf("keychain found %+v", ac)
	}
	if err := Erase("127.0.0.1:5000"); err != nil {
		t.Fatal(err)
	}
	var got map[string]json.RawMessage
	b, _ := os.ReadFile(cfg)
	json.Unmarshal(b, &got)
	if string(got["detachKeys"]) != `"ctrl-x"` || !strings.Contains(string(got["auths"]), "other:1") || strings.Contains(string(got["auths"]), "5000") {
		t.Errorf("config after Erase: %s", b)
	}
	os.WriteFile(cfg, []byte("{not json"), 0o600)
	if _, err := Store("x:1", "a", "b"); !errdefs.IsInvalidArgument(err) {
		t.Errorf("Store over a broken config: %v, want InvalidArgument", err)
	}
	if b2, _ := os.ReadFile(cfg); string(b2) != "{not json" {
		t.Errorf("a broken config was overwritten: %q", b2)
	}
}

func TestCredentialHelper(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the fake helper is a shell script")
	}
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	bin := t.TempDir()
	log := filepath.Join(dir, "helper.log")
	script := "#!/bin/sh\necho \"$1 $(cat)\" >> " + log + "\n"
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-fake"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"credsStore":"fake"}`), 0o600)
	if where, err := Store("reg:1", "bob", "pw"); err != nil || where != "" {
		t.Fatalf("Store via helper = %q, %v", where, err)
	}
	if err := Erase("reg:1"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(log)
	if !strings.Contains(string(b), `store {"Secret":"pw","ServerURL":"reg:1","Username":"bob"}`) || !strings.Contains(string(b), "erase reg:1") {
		t.Errorf("helper saw:\n%s", b)
	}
}
