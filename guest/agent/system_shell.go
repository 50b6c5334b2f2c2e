//go:build linux

package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/console"
	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"google.golang.org/protobuf/types/known/emptypb"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// System.Shell runs a process in the agent's own namespaces (the VM itself,
// or the host with the native driver), outside every container: `berth
// machine shell`. No sshd is involved: stdio travels over a data stream as
// for Containers.ExecStart.

const (
	// shellPath is the PATH a Shell process gets.
	shellPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	// defaultShell is what an empty Args runs, as a login shell.
	defaultShell = "/bin/sh"
	// shellOutputGrace is how long output may keep flowing after the
	// process exited, from background children that still hold its
	// terminal or pipes; then the stream is closed anyway.
	shellOutputGrace = time.Second
)

// shellTable maps the stream id of each running TTY Shell to its pty, for
// ResizeShell. The zero value is ready to use.
type shellTable struct {
	mu   sync.Mutex
	ptys map[string]console.Console
}

func (t *shellTable) add(id string, c console.Console) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ptys == nil {
		t.ptys = map[string]console.Console{}
	}
	t.ptys[id] = c
}

func (t *shellTable) remove(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.ptys, id)
}

func (t *shellTable) get(id string) (console.Console, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c, ok := t.ptys[id]
	return c, ok
}

// Shell runs req's command (a login /bin/sh when empty) with its stdio on
// the data stream req.StreamId and returns its exit code once it exited
// (128+N when killed by signal N). The process is killed when the caller
// goes away.
func (y *systemService) Shell(ctx context.Context, req *agentv1.ShellRequest) (*agentv1.ShellResponse, error) {
	cmd, err := shellCommand(req)
	if err != nil {
		return nil, err
	}
	conn, err := y.s.streams.wait(ctx, req.StreamId)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	p, err := startShell(cmd, req)
	if err != nil {
		return nil, err
	}
	if p.pty != nil {
		y.shells.add(req.StreamId, p.pty)
		defer y.shells.remove(req.StreamId)
	}
	code := p.run(ctx, conn, req.Tty)
	log.G(ctx).WithField("args", cmd.Args).Debugf("shell exited with %d", code)
	return &agentv1.ShellResponse{ExitCode: int64(code)}, nil
}

// ResizeShell sets the terminal size of the running TTY Shell whose
// stream is req.StreamId.
func (y *systemService) ResizeShell(ctx context.Context, req *agentv1.ResizeShellRequest) (*emptypb.Empty, error) {
	if req.Height == 0 || req.Width == 0 || req.Height > 0xffff || req.Width > 0xffff {
		return nil, fmt.Errorf("shell terminal size %dx%d: %w", req.Width, req.Height, errdefs.ErrInvalidArgument)
	}
	c, ok := y.shells.get(req.StreamId)
	if !ok {
		return nil, fmt.Errorf("no running shell with a terminal on stream %q: %w", req.StreamId, errdefs.ErrNotFound)
	}
	if err := c.Resize(console.WinSize{Height: uint16(req.Height), Width: uint16(req.Width)}); err != nil {
		return nil, fmt.Errorf("resize shell terminal: %w", err)
	}
	return &emptypb.Empty{}, nil
}

// shellCommand validates req and returns the command to run.
func shellCommand(req *agentv1.ShellRequest) (*exec.Cmd, error) {
	if req.StreamId == "" {
		return nil, fmt.Errorf("shell: no stream id (call System.OpenStream first): %w", errdefs.ErrInvalidArgument)
	}
	args := req.Args
	if len(args) == 0 {
		args = []string{defaultShell, "-l"}
	}
	bin, err := lookShellPath(args[0])
	if err != nil {
		return nil, err
	}
	dir := req.WorkingDir
	if dir == "" {
		dir = "/"
	}
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("shell: working directory %q is not an absolute path: %w", dir, errdefs.ErrInvalidArgument)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("shell: working directory %q: no such directory: %w", dir, errdefs.ErrInvalidArgument)
	}
	env, err := shellEnv(req.Env, req.Tty)
	if err != nil {
		return nil, err
	}
	cmd := &exec.Cmd{Path: bin, Args: args, Env: env, Dir: dir}
	return cmd, nil
}

// lookShellPath finds name in shellPath unless it contains a slash.
func lookShellPath(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("shell: empty command: %w", errdefs.ErrInvalidArgument)
	}
	var cands []string
	if strings.Contains(name, "/") {
		cands = []string{name}
	} else {
		for _, d := range filepath.SplitList(shellPath) {
			cands = append(cands, filepath.Join(d, name))
		}
	}
	for _, c := range cands {
		if fi, err := os.Stat(c); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return c, nil
		}
	}
	if strings.Contains(name, "/") {
		return "", fmt.Errorf("exec: %q: no such file or not executable: %w", name, errdefs.ErrNotFound)
	}
	return "", fmt.Errorf("exec: %q: executable file not found in $PATH: %w", name, errdefs.ErrNotFound)
}

// shellEnv is a minimal environment with env added (later entries win).
func shellEnv(env []string, tty bool) ([]string, error) {
	base := []string{"PATH=" + shellPath, "HOME=/root", "USER=root", "LOGNAME=root", "SHELL=" + defaultShell}
	if tty {
		base = append(base, "TERM=xterm")
	}
	idx := map[string]int{}
	for i, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		idx[k] = i
	}
	for _, kv := range env {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("shell: environment entry %q is not NAME=VALUE: %w", kv, errdefs.ErrInvalidArgument)
		}
		if i, seen := idx[k]; seen {
			base[i] = kv
			continue
		}
		idx[k] = len(base)
		base = append(base, kv)
	}
	return base, nil
}

// shellProc is a started Shell process and the parent's ends of its stdio.
type shellProc struct {
	cmd   *exec.Cmd
	pty   console.Console // the pty master (TTY), else nil
	stdin io.WriteCloser  // stdin pipe (no TTY)
	out   []io.ReadCloser // stdout and stderr pipes (no TTY)
}

// startShell starts cmd on a new pty (TTY) or on pipes, in its own
// session (TTY) or process group, so that it and its children can be
// killed together.
func startShell(cmd *exec.Cmd, req *agentv1.ShellRequest) (*shellProc, error) {
	if req.Tty {
		return startShellTTY(cmd, req)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var files []*os.File // the child's ends, closed after start
	closeAll := func(fs ...*os.File) {
		for _, f := range fs {
			f.Close()
		}
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		closeAll(inR, inW)
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		closeAll(inR, inW, outR, outW)
		return nil, err
	}
	files = append(files, inR, outW, errW)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	err = cmd.Start()
	closeAll(files...)
	if err != nil {
		closeAll(inW, outR, errR)
		return nil, fmt.Errorf("shell: start %s: %w", cmd.Path, err)
	}
	return &shellProc{cmd: cmd, stdin: inW, out: []io.ReadCloser{outR, errR}}, nil
}

func startShellTTY(cmd *exec.Cmd, req *agentv1.ShellRequest) (*shellProc, error) {
	pty, slavePath, err := console.NewPty()
	if err != nil {
		return nil, fmt.Errorf("shell: allocate a pseudo-terminal: %w", err)
	}
	if req.Width > 0 && req.Height > 0 && req.Width <= 0xffff && req.Height <= 0xffff {
		_ = pty.Resize(console.WinSize{Height: uint16(req.Height), Width: uint16(req.Width)})
	}
	slave, err := os.OpenFile(slavePath, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		pty.Close()
		return nil, fmt.Errorf("shell: open %s: %w", slavePath, err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	err = cmd.Start()
	slave.Close()
	if err != nil {
		pty.Close()
		return nil, fmt.Errorf("shell: start %s: %w", cmd.Path, err)
	}
	return &shellProc{cmd: cmd, pty: pty}, nil
}

// run copies stdio between conn and the process until it exits (killing
// it when ctx ends first), lets its output drain, and returns its exit
// code.
func (p *shellProc) run(ctx context.Context, conn net.Conn, tty bool) int {
	w := newFrameWriter(conn, tty)
	var outs sync.WaitGroup
	pump := func(r io.Reader, stream string) {
		defer outs.Done()
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Read(buf)
			if n > 0 && w.write(stream, buf[:n]) != nil {
				return
			}
			if err != nil { // EOF, or EIO from a pty whose other side closed
				return
			}
		}
	}
	if tty {
		outs.Add(1)
		go pump(p.pty, "stdout")
		go func() { _, _ = io.Copy(p.pty, conn) }()
	} else {
		outs.Add(2)
		go pump(p.out[0], "stdout")
		go pump(p.out[1], "stderr")
		go func() {
			_, _ = io.Copy(p.stdin, conn)
			p.stdin.Close() // the client closed its write side: EOF on stdin
		}()
	}
	exited := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			// The caller went away: kill the shell and everything it started.
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		case <-exited:
		}
	}()
	err := p.cmd.Wait()
	close(exited)
	drained := make(chan struct{})
	go func() { outs.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(shellOutputGrace):
	}
	p.close()
	return exitCodeOf(p.cmd.ProcessState, err)
}

// close closes the parent's ends of the stdio.
func (p *shellProc) close() {
	if p.pty != nil {
		p.pty.Close()
	}
	if p.stdin != nil {
		p.stdin.Close()
	}
	for _, r := range p.out {
		r.Close()
	}
}

// exitCodeOf is the shell's exit code, 128+N for signal N as shells do.
func exitCodeOf(st *os.ProcessState, err error) int {
	if st == nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			st = ee.ProcessState
		}
	}
	if st == nil {
		return 255
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return st.ExitCode()
}
