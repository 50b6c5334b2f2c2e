package client

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
)

func TestRunAttachedOutputAndExitCode(t *testing.T) {
	c, h, out, errOut := newEngineCLI(t, "")
	h.imgs.present["busybox"] = true
	h.ctrs.next = &fakeCtr{stdout: "hello\n", stderr: "oops\n", exitCode: 3}
	msg, code := execCmd(t, c.newRunCommand(), "--name", "t1", "busybox", "sh", "-c", "echo hello")
	if code != 3 || msg != "" {
		t.Fatalf("exit %d, message %q; want 3 and none", code, msg)
	}
	if out.String() != "hello\n" || errOut.String() != "oops\n" {
		t.Errorf("stdout %q stderr %q; want %q and %q", out, errOut, "hello\n", "oops\n")
	}
	if got := strings.Join(h.ctrs.calls, ";"); !strings.HasPrefix(got, "attach t1;start t1") {
		t.Errorf("calls %q: attach must come before start", got)
	}
	var cfg container.Config
	if err := json.Unmarshal(h.ctrs.created[0].Config, &cfg); err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.Cmd, " ") != "sh -c echo hello" || cfg.Image != "busybox" || !cfg.AttachStdout || !cfg.AttachStderr || cfg.AttachStdin {
		t.Errorf("config %+v", cfg)
	}
}

func TestRunImplicitPull(t *testing.T) {
	c, h, out, errOut := newEngineCLI(t, "")
	h.ctrs.next = &fakeCtr{stdout: "hi\n"}
	_, code := execCmd(t, c.newRunCommand(), "busybox")
	if code != 0 {
		t.Fatalf("exit %d; stderr %q", code, errOut)
	}
	want := "Unable to find image 'busybox:latest' locally\nlatest: Pulling from library/busybox\na3ed95caeb02: Pull complete\n"
	if !strings.HasPrefix(errOut.String(), want) || !strings.Contains(errOut.String(), "Status: Downloaded newer image for busybox:latest") {
		t.Errorf("stderr %q; want it to start with %q", errOut, want)
	}
	if out.String() != "hi\n" || len(h.imgs.pulled) != 1 {
		t.Errorf("stdout %q, pulls %v", out, h.imgs.pulled)
	}
}

// TestRunPullPolicies: --pull missing asks for the container first and
// looks at the store only when that fails (one round trip when the image is
// there); always pulls first; never fails as docker's does.
func TestRunPullPolicies(t *testing.T) {
	for _, tc := range []struct {
		policy   string
		present  bool
		pulls    int
		inspects int
		code     int
	}{
		{"missing", true, 0, 0, 0},
		{"missing", false, 1, 1, 0},
		{"always", true, 1, 0, 0},
		{"never", true, 0, 0, 0},
		{"never", false, 0, 0, 125},
	} {
		t.Run(fmt.Sprintf("%s/present=%v", tc.policy, tc.present), func(t *testing.T) {
			c, h, _, errOut := newEngineCLI(t, "")
			h.imgs.present["busybox"] = tc.present
			msg, code := execCmd(t, c.newRunCommand(), "--pull", tc.policy, "busybox")
			if code != tc.code {
				t.Fatalf("exit %d, want %d; message %q, stderr %q", code, tc.code, msg, errOut)
			}
			if tc.code != 0 && !strings.Contains(msg, "No such image: busybox") {
				t.Errorf("message %q; want the agent's No such image", msg)
			}
			if len(h.imgs.pulled) != tc.pulls || h.imgs.inspects != tc.inspects {
				t.Errorf("%d pulls and %d image inspects, want %d and %d", len(h.imgs.pulled), h.imgs.inspects, tc.pulls, tc.inspects)
			}
		})
	}
}

// TestRunOpensStreamDuringCreate: an attached run reserves its attach
// stream while the agent creates the container (the fake's Create waits
// for the reservation, generously), and uses that stream; when the create
// fails the early stream is dropped.
func TestRunOpensStreamDuringCreate(t *testing.T) {
	for _, fail := range []bool{false, true} {
		t.Run(fmt.Sprintf("create fails=%v", fail), func(t *testing.T) {
			c, h, out, _ := newEngineCLI(t, "")
			h.imgs.present["busybox"] = true
			h.ctrs.next = &fakeCtr{stdout: "hi\n"}
			h.opened = make(chan string, 8)
			h.ctrs.beforeCreate = func(ctx context.Context) error {
				select {
				case <-h.opened:
				case <-time.After(15 * time.Second): // below execCmd's 20 s bound
					return grpcErr(errdefs.ErrUnavailable, "no data stream was reserved during the create")
				}
				if fail {
					return grpcErr(errdefs.ErrInvalidArgument, "bad create")
				}
				return nil
			}
			msg, code := execCmd(t, c.newRunCommand(), "busybox")
			if fail {
				if code != 125 || !strings.Contains(msg, "bad create") {
					t.Fatalf("exit %d, message %q; want 125 and the create's error", code, msg)
				}
				return
			}
			if code != 0 || out.String() != "hi\n" {
				t.Fatalf("exit %d, message %q, stdout %q", code, msg, out)
			}
			if n := len(h.opened); n != 0 {
				t.Errorf("%d more data streams reserved after the create; want the early one used", n)
			}
		})
	}
}

// TestRunCreateNotFoundNotImage: a create that fails with not-found for
// something other than the image (a network) is reported as is, no pull.
func TestRunCreateNotFoundNotImage(t *testing.T) {
	c, h, _, errOut := newEngineCLI(t, "")
	h.imgs.present["busybox"] = true
	h.ctrs.createErr = grpcErr(errdefs.ErrNotFound, "network nonet not found")
	msg, code := execCmd(t, c.newRunCommand(), "--network", "nonet", "busybox")
	if code != 125 || !strings.Contains(msg+errOut.String(), "network nonet not found") || strings.Contains(errOut.String(), "Unable to find image") {
		t.Fatalf("exit %d, message %q, stderr %q", code, msg, errOut)
	}
	if len(h.imgs.pulled) != 0 || h.imgs.inspects != 1 {
		t.Errorf("%d pulls, %d image inspects; want none and one", len(h.imgs.pulled), h.imgs.inspects)
	}
}

func TestRunDetachedPrintsID(t *testing.T) {
	c, h, out, _ := newEngineCLI(t, "")
	h.imgs.present["busybox"] = true
	h.ctrs.next = &fakeCtr{keepRunning: true}
	if msg, code := execCmd(t, c.newRunCommand(), "-d", "--rm", "busybox", "sleep", "100"); code != 0 {
		t.Fatalf("exit %d: %s", code, msg)
	}
	id := strings.TrimSpace(out.String())
	if len(id) != 64 || h.ctrs.byRef[id] == nil || h.ctrs.byRef[id].state != "running" {
		t.Fatalf("printed %q; want the full id of a running container", out)
	}
	var hc container.HostConfig
	if err := json.Unmarshal(h.ctrs.created[0].HostConfig, &hc); err != nil {
		t.Fatal(err)
	}
	if !hc.AutoRemove {
		t.Errorf("-d --rm must leave the removal to the agent (AutoRemove)")
	}
}

func TestRunRmRemovesAfterExit(t *testing.T) {
	c, h, _, _ := newEngineCLI(t, "")
	h.imgs.present["busybox"] = true
	h.ctrs.next = &fakeCtr{exitCode: 1}
	if _, code := execCmd(t, c.newRunCommand(), "--rm", "--name", "gone", "busybox", "false"); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if last := h.ctrs.calls[len(h.ctrs.calls)-1]; last != "remove gone force=true volumes=true" {
		t.Errorf("last call %q; want the removal", last)
	}
	var hc container.HostConfig
	if err := json.Unmarshal(h.ctrs.created[0].HostConfig, &hc); err != nil {
		t.Fatal(err)
	}
	if hc.AutoRemove {
		t.Errorf("an attached --rm run removes the container itself, after reading the exit code")
	}
}

func TestRunBadFlagsExit125(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--memory", "12x", "busybox"}, `invalid argument "12x" for "-m, --memory" flag: invalid suffix: 'x'`},
		{[]string{"--restart", "sometimes", "busybox"}, "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"},
		{[]string{"-p", "abc", "busybox"}, "abc"},
		{[]string{"-p", "8080:80/sctp2", "busybox"}, "sctp2"},
		{[]string{"--rm", "--restart", "always", "busybox"}, "conflicting options: cannot specify both --restart and --rm"},
		{[]string{"--cpus", "lots", "busybox"}, `invalid argument "lots" for "--cpus" flag`},
		{[]string{"--ulimit", "nofile=x", "busybox"}, `for "--ulimit" flag`},
		{[]string{"-v", "data:relative", "busybox"}, "invalid volume specification"},
		{[]string{"--pull", "sometimes", "busybox"}, "invalid pull option"},
		{[]string{"-a", "stdfoo", "busybox"}, "valid streams are STDIN, STDOUT and STDERR"},
		{[]string{"--detach-keys", "ctrl-", "busybox"}, "invalid detach keys"},
		{[]string{"-d", "-a", "stdout", "busybox"}, "conflicting options"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			c, h, _, _ := newEngineCLI(t, "")
			h.imgs.present["busybox"] = true
			msg, code := execCmd(t, c.newRunCommand(), tc.args...)
			if code != 125 || !strings.Contains(msg, tc.want) {
				t.Errorf("exit %d, message %q; want 125 and %q", code, msg, tc.want)
			}
			if len(h.ctrs.created) != 0 {
				t.Errorf("a container was created despite the bad flag")
			}
		})
	}
}

func TestRunStartErrorExitCodes(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		code int
	}{
		{`exec: "nope": executable file not found in $PATH`, 127},
		{`exec: "/etc": permission denied`, 126},
		{`exec: "/tmp": is a directory`, 126},
		{"cgroup setup failed", 125},
	} {
		t.Run(tc.msg, func(t *testing.T) {
			c, h, _, _ := newEngineCLI(t, "")
			h.imgs.present["busybox"] = true
			h.ctrs.startErr = grpcErr(errdefs.ErrUnknown, "failed to create task: %s", tc.msg)
			msg, code := execCmd(t, c.newRunCommand(), "busybox", "nope")
			if code != tc.code || !strings.HasPrefix(msg, "Error response from daemon: failed to create task: ") {
				t.Errorf("exit %d, message %q; want %d", code, msg, tc.code)
			}
		})
	}
}

func TestRunInteractiveStdinHalfCloses(t *testing.T) {
	c, h, out, _ := newEngineCLI(t, "ping\npong\n")
	h.imgs.present["busybox"] = true
	h.ctrs.next = &fakeCtr{echoStdin: true}
	if msg, code := execCmd(t, c.newRunCommand(), "-i", "--name", "cat", "busybox", "cat"); code != 0 {
		t.Fatalf("exit %d: %s", code, msg)
	}
	if out.String() != "ping\npong\n" {
		t.Errorf("stdout %q", out)
	}
	ct := h.ctrs.byRef["cat"]
	if string(ct.gotIn) != "ping\npong\n" || !ct.attachR.Stdin {
		t.Errorf("container got stdin %q (attach %+v)", ct.gotIn, ct.attachR)
	}
}

func TestRunTTYDetachKeys(t *testing.T) {
	c, h, out, _ := newEngineCLI(t, "ls\r\x10\x11never sent")
	h.imgs.present["busybox"] = true
	h.ctrs.next = &fakeCtr{echoStdin: true, keepRunning: true}
	if msg, code := execCmd(t, c.newRunCommand(), "-it", "--name", "sh", "busybox", "sh"); code != 0 {
		t.Fatalf("exit %d: %s", code, msg)
	}
	ct := h.ctrs.byRef["sh"]
	select {
	case <-ct.inRead:
	case <-time.After(10 * time.Second):
		t.Fatal("the container's stdin was not closed after detaching")
	}
	h.ctrs.mu.Lock()
	defer h.ctrs.mu.Unlock()
	if ct.state != "running" {
		t.Errorf("state %s after detaching; want running", ct.state)
	}
	if string(ct.gotIn) != "ls\r" {
		t.Errorf("container got %q; the detach keys and what follows must not be sent", ct.gotIn)
	}
	if strings.Contains(out.String(), "never") {
		t.Errorf("stdout %q", out)
	}
}
