package client

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/errdefs"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

const testLayer = "a3ed95caeb02"

var pullDigest = "sha256:" + strings.Repeat("e5", 32)

func testPullProgress(ref string) []*agentv1.PullProgress {
	return []*agentv1.PullProgress{
		{Id: "1", Status: "Pulling from test/busybox"},
		{Id: testLayer, Status: "Pulling fs layer"},
		{Id: testLayer, Status: "Downloading", Current: 1200000, Total: 3400000},
		{Id: testLayer, Status: "Downloading", Current: 3400000, Total: 3400000},
		{Id: testLayer, Status: "Verifying Checksum"},
		{Id: testLayer, Status: "Download complete"},
		{Id: testLayer, Status: "Extracting", Current: 3400000, Total: 3400000},
		{Id: testLayer, Status: "Pull complete"},
		{Status: "Digest: " + pullDigest},
		{Status: "Status: Downloaded newer image for " + ref},
		{Done: true, Ref: ref, Digest: pullDigest, ImageId: busyboxID},
	}
}

func TestPull(t *testing.T) {
	full := "127.0.0.1:5000/test/busybox:1"
	tests := []struct {
		name     string
		args     []string
		progress []*agentv1.PullProgress
		want     string
	}{
		{
			name:     "plain lines without bars when not on a terminal",
			args:     []string{full},
			progress: testPullProgress(full),
			want: "1: Pulling from test/busybox\n" +
				testLayer + ": Pulling fs layer\n" +
				testLayer + ": Verifying Checksum\n" +
				testLayer + ": Download complete\n" +
				testLayer + ": Pull complete\n" +
				"Digest: " + pullDigest + "\n" +
				"Status: Downloaded newer image for " + full + "\n" +
				full + "\n",
		},
		{
			name:     "quiet prints the reference only",
			args:     []string{"-q", full},
			progress: testPullProgress(full),
			want:     full + "\n",
		},
		{
			name: "default tag, digest and status from the final message",
			args: []string{"busybox"},
			progress: []*agentv1.PullProgress{
				{Id: testLayer, Status: "Already exists"},
				{Done: true, Ref: "docker.io/library/busybox:latest", Digest: pullDigest, Status: "Status: Image is up to date for busybox:latest"},
			},
			want: "Using default tag: latest\n" +
				testLayer + ": Already exists\n" +
				"Digest: " + pullDigest + "\n" +
				"Status: Image is up to date for busybox:latest\n" +
				"docker.io/library/busybox:latest\n",
		},
		{
			name:     "reference line made on the host when the agent sends none",
			args:     []string{"busybox@" + pullDigest},
			progress: []*agentv1.PullProgress{{Done: true}},
			want:     "docker.io/library/busybox@" + pullDigest + "\n",
		},
	}
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeImages{progress: tt.progress}
			c, out, _ := newTestCLI(t, f)
			if msg, code := execCmd(t, c.newPullCommand(), tt.args...); code != 0 {
				t.Fatalf("exit %d: %s", code, msg)
			}
			if out.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", out.String(), tt.want)
			}
			if f.pullReq.Auth != nil {
				t.Errorf("sent credentials %v with an empty docker config", f.pullReq.Auth)
			}
		})
	}
}

func TestPullSendsCredentialsAndPlatform(t *testing.T) {
	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))
	cfg := fmt.Sprintf(`{"auths":{"127.0.0.1:5000":{"auth":%q}}}`, auth)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)
	tests := []struct {
		ref      string
		wantUser string
	}{
		{"127.0.0.1:5000/test/busybox:1", "alice"},
		{"127.0.0.1:5001/test/busybox:1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			f := &fakeImages{progress: []*agentv1.PullProgress{{Done: true, Ref: tt.ref}}}
			c, _, _ := newTestCLI(t, f)
			if msg, code := execCmd(t, c.newPullCommand(), "--platform", "linux/arm64/v8", tt.ref); code != 0 {
				t.Fatalf("exit %d: %s", code, msg)
			}
			r := f.pullReq
			if r.Ref != tt.ref || r.Platform != "linux/arm64/v8" {
				t.Errorf("request %v", r)
			}
			if got := r.GetAuth().GetUsername(); got != tt.wantUser {
				t.Errorf("username %q, want %q", got, tt.wantUser)
			}
			if tt.wantUser != "" && r.GetAuth().GetPassword() != "s3cret" {
				t.Errorf("password %q", r.GetAuth().GetPassword())
			}
		})
	}
}

func TestPullErrors(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	tests := []struct {
		name      string
		args      []string
		agentErr  error
		progress  []*agentv1.PullProgress
		want      string
		wantCalls bool
	}{
		{name: "uppercase", args: []string{"Busybox"}, want: "Error: invalid reference format: repository name (Busybox) must be lowercase\n"},
		{name: "double colon", args: []string{"a::b"}, want: `Error: invalid reference format: "a::b" is not an image name`},
		{name: "no argument", args: nil, want: "\"berth pull\" requires exactly 1 argument.\nSee 'berth pull --help'.\n\nUsage:  berth pull [OPTIONS] NAME[:TAG|@DIGEST]\n"},
		{
			name: "registry down", args: []string{"127.0.0.1:1/x:1"}, wantCalls: true,
			agentErr: fmt.Errorf("pull 127.0.0.1:1/x:1: dial tcp 127.0.0.1:1: connection refused: %w", errdefs.ErrUnavailable),
			want:     "Error response from daemon: pull 127.0.0.1:1/x:1: dial tcp 127.0.0.1:1: connection refused",
		},
		{
			name: "stream ends early", args: []string{"x:1"}, wantCalls: true,
			progress: []*agentv1.PullProgress{{Id: testLayer, Status: "Pulling fs layer"}},
			want:     "the pull ended before the image was complete",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeImages{err: tt.agentErr, progress: tt.progress}
			c, _, _ := newTestCLI(t, f)
			msg, code := execCmd(t, c.newPullCommand(), tt.args...)
			if code != 1 || !strings.Contains(msg, tt.want) {
				t.Errorf("got exit %d %q, want exit 1 and %q", code, msg, tt.want)
			}
			if (f.calls > 0) != tt.wantCalls {
				t.Errorf("agent calls: %d", f.calls)
			}
		})
	}
}
