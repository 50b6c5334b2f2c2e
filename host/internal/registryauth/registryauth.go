// Package registryauth keeps registry credentials where docker keeps them
// ($DOCKER_CONFIG/config.json, default ~/.docker/config.json, or the
// credential helper that file names), so that `berth login` and `docker
// login` share logins. The agent checks them (Images.Login): the CLI links
// no HTTP client for it.
package registryauth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/internal/atomicfile"
)

// IndexServer is the key docker stores Docker Hub credentials under.
const IndexServer = "https://index.docker.io/v1/"

// ServerKey is the config key for a server as the user typed it: Docker Hub
// for "" and its aliases, else the bare host[:port] (docker's
// ConvertToHostname).
func ServerKey(server string) string {
	s := strings.TrimSpace(server)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	switch s {
	case "", "docker.io", "index.docker.io", "registry-1.docker.io":
		return IndexServer
	}
	return s
}

// RegistryHost is the registry host[:port] to check the credentials of
// key against.
func RegistryHost(key string) string {
	if key == IndexServer {
		return "index.docker.io"
	}
	return key
}

// ConfigPath is docker's config file: $DOCKER_CONFIG/config.json or
// ~/.docker/config.json.
func ConfigPath() (string, error) {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return filepath.Join(d, "config.json"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the home directory for ~/.docker/config.json (set DOCKER_CONFIG): %w", err)
	}
	return filepath.Join(home, ".docker", "config.json"), nil
}

// config is docker's config file, every field kept as it was.
type config struct {
	path   string
	fields map[string]json.RawMessage
}

func readConfig() (*config, error) {
	p, err := ConfigPath()
	if err != nil {
		return nil, err
	}
	c := &config{path: p, fields: map[string]json.RawMessage{}}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &c.fields); err != nil {
			return nil, fmt.Errorf("%s is not valid JSON (fix or move it away): %v: %w", p, err, errdefs.ErrInvalidArgument)
		}
	}
	return c, nil
}

// helper is the credential helper configured for key, or "".
func (c *config) helper(key string) string {
	var helpers map[string]string
	_ = json.Unmarshal(c.fields["credHelpers"], &helpers)
	if h := helpers[RegistryHost(key)]; h != "" {
		return h
	}
	var store string
	_ = json.Unmarshal(c.fields["credsStore"], &store)
	return store
}

func (c *config) auths() map[string]json.RawMessage {
	a := map[string]json.RawMessage{}
	_ = json.Unmarshal(c.fields["auths"], &a)
	return a
}

func (c *config) write(auths map[string]json.RawMessage) error {
	b, err := json.Marshal(auths)
	if err != nil {
		return err
	}
	c.fields["auths"] = b
	out, err := json.MarshalIndent(c.fields, "", "\t")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o700); err != nil {
		return err
	}
	return atomicfile.WriteFile(c.path, append(out, '\n'), 0o600)
}

// Store saves the credentials for key. It returns the config file's path
// when they were written there in the clear, "" when a credential helper
// took them.
func Store(key, username, password string) (string, error) {
	c, err := readConfig()
	if err != nil {
		return "", err
	}
	if h := c.helper(key); h != "" {
		in, _ := json.Marshal(map[string]string{"ServerURL": key, "Username": username, "Secret": password})
		return "", runHelper(h, "store", in)
	}
	auths := c.auths()
	entry, _ := json.Marshal(map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(username + ":" + password))})
	auths[key] = entry
	return c.path, c.write(auths)
}

// Erase forgets the credentials for key.
func Erase(key string) error {
	c, err := readConfig()
	if err != nil {
		return err
	}
	if h := c.helper(key); h != "" {
		return runHelper(h, "erase", []byte(key))
	}
	auths := c.auths()
	if _, ok := auths[key]; !ok {
		return nil
	}
	delete(auths, key)
	return c.write(auths)
}

func runHelper(helper, verb string, stdin []byte) error {
	bin := "docker-credential-" + helper
	cmd := exec.Command(bin, verb)
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("credential helper %s %s: %v: %s", bin, verb, err, strings.TrimSpace(string(out)))
	}
	return nil
}
