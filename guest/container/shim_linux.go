package container

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containerd/console"
	"github.com/containerd/errdefs"
	runc "github.com/containerd/go-runc"
	"golang.org/x/sys/unix"
)

// shimConfig is written by the agent to <dir>/shim.json for the shim.
type shimConfig struct {
	ID          string    `json:"id"`
	Crun        string    `json:"crun"`
	CrunRoot    string    `json:"crun_root"`
	Tty         bool      `json:"tty,omitempty"`
	OpenStdin   bool      `json:"open_stdin,omitempty"`
	StdinOnce   bool      `json:"stdin_once,omitempty"`
	Log         LogConfig `json:"log"`
	CgroupsPath string    `json:"cgroups_path"`
}

// shimReady is what the shim writes on its ready pipe (fd 3) once the
// container is created (or creating it failed).
type shimReady struct {
	Pid   int    `json:"pid,omitempty"`
	Error string `json:"error,omitempty"`
	Kind  string `json:"kind,omitempty"`
	// ExecFailure is 126 or 127 when the command could not be executed.
	ExecFailure int `json:"exec_failure,omitempty"`
}

type shim struct {
	dir    string
	cfg    shimConfig
	rc     *runc.Runc
	ln     *net.UnixListener
	pid    int
	pidfd  int
	stdin  io.WriteCloser
	con    console.Console
	pio    runc.IO
	sock   *runc.Socket
	oom    atomic.Bool
	out    *fanout
	errOut *fanout
	log    *LogWriter
	ioWG   sync.WaitGroup
	reqs   sync.WaitGroup
	reaper *reaper

	mu      sync.Mutex
	paused  bool
	started bool
	reaped  bool
	exit    *ExitStatus
	running chan struct{} // closed once started (or failed to)
	exited  chan struct{} // closed once the exit is recorded
	cleaned chan struct{} // closed once crun's state is deleted
	execs   map[string]*execProc
	attachd bool // a stdin client attached once (StdinOnce)
}

// RunShim is the main function of a container's shim process; args are
// ["-"]. The agent starts it (re-executing its own binary, possibly ahead
// of time) in a new session with a socket as fd 3, on which it sends the
// container's state dir and receives a shimReady line. It returns the
// process exit code.
func RunShim(args []string) int {
	if len(args) != 1 || args[0] != "-" {
		fmt.Fprintln(os.Stderr, "usage: berth-agent shim - (started by the agent)")
		return 2
	}
	ready := os.NewFile(3, "ready")
	dir, err := readDirLine(ready)
	if err != nil {
		return 0 // the agent went away before handing over a container
	}
	if f, err := os.OpenFile(filepath.Join(dir, "shim.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err == nil {
		unix.Dup2(int(f.Fd()), 2) //nolint:errcheck // diagnostics only
		f.Close()
	}
	s := &shim{dir: dir, exited: make(chan struct{}), running: make(chan struct{}), cleaned: make(chan struct{}), execs: map[string]*execProc{}, pidfd: -1, reaper: newReaper()}
	runc.Monitor = s.reaper
	if err := s.create(context.Background()); err != nil {
		r := shimReady{Error: err.Error(), Kind: errKind(err)}
		var se *StartError
		if errors.As(err, &se) {
			r.ExecFailure, r.Error = se.ExitCode, se.Msg
		}
		writeReady(ready, r)
		return 1
	}
	writeReady(ready, shimReady{})
	s.serve()
	return 0
}

// readDirLine reads the state dir line the agent sends; the agent sends
// nothing after it, so it is read in chunks, not byte by byte.
func readDirLine(f *os.File) (string, error) {
	var b []byte
	buf := make([]byte, 4096)
	for len(b) < 4096 {
		n, err := f.Read(buf)
		b = append(b, buf[:n]...)
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			return string(b[:i]), nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", errors.New("state dir too long")
}

func writeReady(f *os.File, r shimReady) {
	b, _ := json.Marshal(r)
	f.Write(append(b, '\n')) //nolint:errcheck // the agent may be gone; nothing to do
	f.Close()
}

// create prepares the shim: config, socket, log and stdio.
func (s *shim) create(ctx context.Context) error {
	b, err := os.ReadFile(filepath.Join(s.dir, "shim.json"))
	if err == nil {
		err = json.Unmarshal(b, &s.cfg)
	}
	if err != nil {
		return fmt.Errorf("shim config: %w", err)
	}
	if err := unmountHybridCgroup2(); err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("become subreaper: %w", err)
	}
	os.Remove(shimSocket(s.dir))
	if err = withSocketPath(shimSocket(s.dir), func(p string) (err error) {
		s.ln, err = net.ListenUnix("unix", &net.UnixAddr{Name: p, Net: "unix"})
		return err
	}); err != nil {
		return fmt.Errorf("shim socket: %w", err)
	}
	logPath := filepath.Join(s.dir, "crun.log")
	os.Remove(logPath)
	s.rc = &runc.Runc{Command: s.cfg.Crun, Root: s.cfg.CrunRoot, Log: logPath, LogFormat: runc.JSON}
	s.log, err = OpenLogWriter(filepath.Join(s.dir, s.cfg.ID+"-json.log"), s.cfg.Log)
	if err != nil {
		return err
	}
	if err := s.prepareIO(); err != nil {
		s.ln.Close()
		return err
	}
	return nil
}

// prepareIO makes the container's stdio: pipes, or a console socket on
// which crun will send the pty master.
func (s *shim) prepareIO() error {
	var err error
	s.out, s.errOut = newFanout(), newFanout()
	if s.cfg.Tty {
		if s.sock, err = runc.NewTempConsoleSocket(); err != nil {
			return fmt.Errorf("console socket: %w", err)
		}
		return nil
	}
	s.pio, err = runc.NewPipeIO(0, 0, func(o *runc.IOOption) { o.OpenStdin = s.cfg.OpenStdin })
	if err != nil {
		return fmt.Errorf("stdio pipes: %w", err)
	}
	s.stdin = s.pio.Stdin()
	return nil
}

func (s *shim) startPumps() {
	if s.con != nil {
		s.ioWG.Add(1)
		go s.pump(s.con, "stdout", s.out)
		return
	}
	s.ioWG.Add(2)
	go s.pump(s.pio.Stdout(), "stdout", s.out)
	go s.pump(s.pio.Stderr(), "stderr", s.errOut)
}

// argv0 is the container command's name, for error messages.
func (s *shim) argv0() string {
	var spec struct {
		Process struct{ Args []string } `json:"process"`
	}
	b, _ := os.ReadFile(filepath.Join(s.dir, "config.json"))
	if json.Unmarshal(b, &spec) == nil && len(spec.Process.Args) > 0 {
		return spec.Process.Args[0]
	}
	return ""
}

func readPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("bad pid file %s: %w", path, err)
	}
	return pid, nil
}

func exitCode(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// pump copies one output stream into the log and to attached clients.
func (s *shim) pump(r io.Reader, stream string, f *fanout) {
	defer s.ioWG.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			s.log.Write(stream, buf[:n]) //nolint:errcheck // a full disk must not block the container
			f.write(buf[:n])
		}
		if err != nil {
			return
		}
	}
}

// crunError turns a failed crun call into a clear error, using the last
// error crun logged; failing to execute the command maps to docker's
// 127/126 (StartError).
func crunError(logPath, op, argv0 string, err error) error {
	msg := lastCrunError(logPath)
	if msg == "" {
		msg = err.Error()
	}
	if se := execFailure(msg, argv0); se != nil {
		return se
	}
	return fmt.Errorf("OCI runtime %s failed: %s: %w", op, msg, errdefs.ErrUnknown)
}

func lastCrunError(logPath string) string {
	b, err := os.ReadFile(logPath)
	if err != nil {
		return ""
	}
	var last string
	for _, line := range strings.Split(string(b), "\n") {
		var e struct{ Msg, Level string }
		if json.Unmarshal([]byte(line), &e) == nil && e.Level == "error" && e.Msg != "" {
			last = e.Msg
		}
	}
	return last
}
