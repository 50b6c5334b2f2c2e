package machine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/internal/errkind"
	"github.com/containerd/log"
	"github.com/containerd/ttrpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/berth-dev/berth/host/driver"
	"github.com/berth-dev/berth/host/transport"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
	"github.com/berth-dev/berth/proto/stream"
)

// Daemon timings.
const (
	// AgentReadyTimeout bounds how long a starting agent may take to answer.
	AgentReadyTimeout = 90 * time.Second
	// AgentGrace is how long the agent gets to exit after System.Shutdown
	// before the driver stops it forcibly. A VM's agent first stops the
	// containers (docker's stop timeout: 10 s by default), then powers off;
	// with the driver's Stop after it, it stays under StopTimeout.
	AgentGrace = 20 * time.Second
	// agentDialWait bounds how long a client connection waits for the agent.
	agentDialWait = 15 * time.Second
	// restartMax bounds the wait between restarts of an agent that keeps dying.
	restartMax = 30 * time.Second
)

// daemon is the running machine daemon of one machine.
type daemon struct {
	m      *Machine
	d      driver.Driver
	status DaemonStatus

	ports   *portManager   // port forwards; set before serving
	balloon *balloonKeeper // memory balloon (balloon.go); nil without one; set before serving

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// agentRun is one run of the agent.
type agentRun struct {
	done chan struct{} // closed when the agent has exited
	err  error         // why it exited; read after done
}

// RunDaemon runs the machine daemon of machine name in the foreground until
// ctx ends: it starts the guest with the machine's driver, serves the 0600
// unix socket in the machine's dir, splicing each connection to a fresh
// agent connection, and restarts the agent when it dies (drivers without a
// VM; a VM that stops on its own ends the daemon, see supervise). When ctx
// ends it asks the agent to shut down, stops the guest and removes its
// socket.
// Guest output goes to logw. Only one daemon runs per machine: a second one
// fails with errdefs.ErrAlreadyExists.
func (s *Store) RunDaemon(ctx context.Context, name string, logw io.Writer) error {
	m, err := s.Get(name)
	if err != nil {
		return err
	}
	lctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	l, err := lockFile(lctx, filepath.Join(m.dir, daemonLock))
	cancel()
	if err != nil {
		return errkind.New(errdefs.ErrAlreadyExists, "machine %q already has a daemon (%v)", name, err)
	}
	defer l.Unlock()
	f, err := s.drivers.Get(m.Config.Driver)
	if err != nil {
		return fmt.Errorf("machine %q: %w", name, err)
	}
	d, err := f.New(instance(m, logw))
	if err != nil {
		return fmt.Errorf("machine %q: %w", name, err)
	}
	dm := &daemon{m: m, d: d, conns: map[net.Conn]struct{}{},
		status: DaemonStatus{PID: os.Getpid(), State: StateStarting, Started: time.Now().UTC()}}
	dm.setState(ctx, StateStarting)
	defer os.Remove(filepath.Join(m.dir, daemonState))
	return dm.run(ctx)
}

func (dm *daemon) setState(ctx context.Context, st State) {
	dm.status.State = st
	if err := writeStatus(dm.m.dir, dm.status); err != nil {
		log.G(ctx).WithError(err).Warn("cannot record the daemon's state")
	}
}

func (dm *daemon) run(ctx context.Context) error {
	run, err := dm.startAgent(ctx)
	if err != nil {
		return err
	}
	ln, err := listenDaemon(dm.m.SocketPath()) // listen_unix.go, listen_windows.go
	if err != nil {
		dm.stopAgent(context.WithoutCancel(ctx), run)
		return err
	}
	defer removeDaemonAddress(dm.m.SocketPath())
	dm.status.Socket = dm.m.SocketPath()
	dm.setState(ctx, StateRunning)
	log.G(ctx).WithField("socket", dm.m.SocketPath()).Info("machine daemon serving")

	fctx, stopForwards := context.WithCancel(ctx)
	dm.ports = dm.newPortManager(fctx)
	var wg sync.WaitGroup
	dm.balloon = dm.startBalloon(fctx, &wg) // lowers an idle VM's memory
	wg.Add(2)
	go func() {
		defer wg.Done()
		dm.serve(ctx, ln)
	}()
	go func() {
		defer wg.Done()
		dm.ports.Follow(fctx)
	}()
	dm.startFileWatch(fctx, &wg) // host file changes to the VM's inotify
	run, exitErr := dm.supervise(ctx, run)

	log.G(ctx).Info("machine daemon stopping")
	dm.setState(context.WithoutCancel(ctx), StateStopping)
	ln.Close()
	dm.closeConns()
	stopForwards()
	dm.ports.Close()
	dm.stopAgent(context.WithoutCancel(ctx), run)
	wg.Wait()
	log.G(ctx).Info("machine daemon stopped")
	return exitErr
}

// supervise watches the guest until ctx ends. A VM that stops on its own
// (qemu killed, a kernel panic, a power off from inside) is not booted
// again: the machine stays stopped until `berth machine start`, and
// supervise returns at once with a nil run and the error that says why
// (nil for a clean power off). The agent of a driver without a VM is the
// whole machine: it is restarted whenever it dies. supervise returns the
// current run (nil when the guest is not running).
func (dm *daemon) supervise(ctx context.Context, run *agentRun) (*agentRun, error) {
	backoff := time.Second
	for {
		started := time.Now()
		select {
		case <-ctx.Done():
			return run, nil
		case <-run.done:
		}
		if dm.d.Features().VM {
			return nil, dm.guestExited(ctx, run.err)
		}
		log.G(ctx).WithError(run.err).Error("agent died; restarting it")
		if time.Since(started) > restartMax {
			backoff = time.Second // it ran well for a while: not a crash loop
		}
		dm.setState(ctx, StateStarting)
		for {
			select {
			case <-ctx.Done():
				return nil, nil
			case <-time.After(backoff):
			}
			r, err := dm.startAgent(ctx)
			if err == nil {
				run = r
				break
			}
			log.G(ctx).WithError(err).Error("agent restart failed")
			backoff = min(backoff*2, restartMax)
		}
		dm.setState(ctx, StateRunning)
	}
}

// guestExited records why the VM stopped without being asked to (err from
// the driver: its last console lines) and returns the daemon's error; a
// clean power off from inside the guest leaves no record.
func (dm *daemon) guestExited(ctx context.Context, err error) error {
	if err == nil {
		log.G(ctx).Warn("the VM powered off; the machine is stopped (start it with: berth machine start " + dm.m.Name + ")")
		return nil
	}
	log.G(ctx).WithError(err).Error("the VM stopped unexpectedly; the machine stays stopped until: berth machine start " + dm.m.Name)
	if werr := writeLastExit(dm.m.dir, newExit(err, time.Now())); werr != nil {
		log.G(ctx).WithError(werr).Warn("cannot record why the VM stopped")
	}
	return fmt.Errorf("machine %q: the VM stopped unexpectedly: %w", dm.m.Name, err)
}

// startAgent starts the guest and waits until the agent answers.
func (dm *daemon) startAgent(ctx context.Context) (*agentRun, error) {
	exited, err := dm.d.Start(ctx)
	if err != nil {
		return nil, fmt.Errorf("machine %q: start: %w", dm.m.Name, err)
	}
	run := &agentRun{done: make(chan struct{})}
	go func() {
		run.err = <-exited
		close(run.done)
	}()
	rctx, cancel := context.WithTimeout(ctx, AgentReadyTimeout)
	defer cancel()
	if err := dm.waitAgent(rctx, run); err != nil {
		dm.stopAgent(context.WithoutCancel(ctx), run)
		return nil, fmt.Errorf("machine %q: the agent does not answer: %w", dm.m.Name, err)
	}
	log.G(ctx).Info("agent ready")
	go dm.keepClock(ctx, run) // ends with ctx or the run (daemon_clock.go)
	return run, nil
}

// waitAgent polls the agent's System.Version until it answers.
func (dm *daemon) waitAgent(ctx context.Context, run *agentRun) error {
	for {
		conn, err := transport.Retry(ctx, transport.DialFunc(dm.d.DialAgent), run.done)
		if err == nil {
			err = agentCall(ctx, conn, "Version", &agentv1.VersionResponse{})
			if err == nil {
				return nil
			}
		}
		select {
		case <-run.done:
			return fmt.Errorf("%w (%w)", run.err, err)
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// systemService is the agent's System service name on the wire.
const systemService = "berth.agent.v1.System"

// agentCall makes one System call that takes an Empty request on conn (a
// fresh connection without header), then closes it. It uses the ttrpc client
// directly: the daemon needs two calls, not the whole generated API.
func agentCall(ctx context.Context, conn net.Conn, method string, resp any) error {
	if err := stream.Write(conn, stream.Header{Kind: stream.KindTTRPC}); err != nil {
		conn.Close()
		return err
	}
	cl := ttrpc.NewClient(conn)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	return cl.Call(ctx, systemService, method, &emptypb.Empty{}, resp)
}

// stopAgent asks the agent to shut down and gives it AgentGrace to exit,
// then has the driver stop the guest (forcibly if need be).
func (dm *daemon) stopAgent(ctx context.Context, run *agentRun) {
	if run != nil && dm.askShutdown(ctx) {
		select {
		case <-run.done:
		case <-time.After(AgentGrace):
			log.G(ctx).Warn("agent did not shut down in time")
		}
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := dm.d.Stop(sctx); err != nil {
		log.G(ctx).WithError(err).Error("stop guest")
	}
}

// askShutdown calls System.Shutdown and reports whether the agent agreed.
func (dm *daemon) askShutdown(ctx context.Context) bool {
	conn, err := dm.d.DialAgent(ctx)
	if err == nil {
		err = agentCall(ctx, conn, "Shutdown", &emptypb.Empty{})
	}
	if err != nil {
		log.G(ctx).WithError(err).Warn("agent shutdown request failed")
		return false
	}
	return true
}

// serve accepts connections until ln is closed and splices each to a fresh
// agent connection.
func (dm *daemon) serve(ctx context.Context, ln net.Listener) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				log.G(ctx).WithError(err).Error("accept")
			}
			return
		}
		dm.track(c, true)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer dm.track(c, false)
			dm.splice(ctx, c)
		}()
	}
}

// splice connects client c to a fresh agent connection. While the agent is
// being restarted the dial is retried for a while, so that a command issued
// then waits instead of failing. A daemon control connection (header kind
// KindDaemon) is answered here instead.
func (dm *daemon) splice(ctx context.Context, c net.Conn) {
	c.SetReadDeadline(time.Now().Add(agentDialWait))
	h, err := stream.Read(c)
	c.SetReadDeadline(time.Time{})
	if err != nil {
		log.G(ctx).WithError(err).Debug("dropping client connection")
		c.Close()
		return
	}
	if h.Kind == stream.KindDaemon {
		dm.ports.serveControl(ctx, c)
		return
	}
	dctx, cancel := context.WithTimeout(ctx, agentDialWait)
	ac, err := transport.Retry(dctx, transport.DialFunc(dm.d.DialAgent), nil)
	cancel()
	if err != nil {
		log.G(ctx).WithError(err).Warn("cannot reach the agent for a client")
		c.Close()
		return
	}
	if err := stream.Write(ac, h); err != nil {
		log.G(ctx).WithError(err).Warn("cannot reach the agent for a client")
		ac.Close()
		c.Close()
		return
	}
	if err := transport.Splice(c, ac); err != nil {
		log.G(ctx).WithError(err).Debug("splice ended")
	}
}

func (dm *daemon) track(c net.Conn, add bool) {
	dm.mu.Lock()
	defer dm.mu.Unlock()
	if add {
		dm.balloon.poke() // a client: the VM gets its full memory back
		dm.conns[c] = struct{}{}
	} else {
		delete(dm.conns, c)
	}
}

func (dm *daemon) closeConns() {
	dm.mu.Lock()
	defer dm.mu.Unlock()
	for c := range dm.conns {
		c.Close()
	}
}
