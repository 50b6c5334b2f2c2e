//go:build linux

package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/containerd/log"
	"github.com/containerd/ttrpc"
	bolt "go.etcd.io/bbolt"

	"github.com/berth-dev/berth/guest/network"
	"github.com/berth-dev/berth/guest/volume"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
	"github.com/berth-dev/berth/proto/stream"
)

// headerTimeout bounds how long a new connection may take to send its header.
const headerTimeout = 10 * time.Second

// Options configure a Server. The zero value of every field but DataDir is a
// working default.
type Options struct {
	// DataDir holds all state: metadata.db, content, snapshots, ...
	DataDir string
	// InsecureRegistries may be reached over plain HTTP (loopback registries
	// always may).
	InsecureRegistries []string
	// Name is reported by Info (the machine's name).
	Name string
	// StopContainersOnExit makes Close stop every running container as
	// docker's daemon does at shutdown (see stopContainers). The VM's agent
	// sets it: its exit powers the VM off. Otherwise containers keep
	// running and the next agent re-adopts them.
	StopContainersOnExit bool
	// AutoTrim makes Run trim the data disk after deletions and hourly
	// (the VM's agent: its disk is a sparse file on the host).
	AutoTrim bool
	// InitPath is the static program bind-mounted read-only at
	// /sbin/docker-init for docker's --init; started by that name it must
	// be that init (berth-agent is: guest/dockerinit). Empty: --init fails
	// with a clear error.
	InitPath string
	// NetworkID, when set, gives this engine a default bridge and an
	// nftables table of its own ("berth-<id>") instead of berth0 and
	// "berth", so that several engines can share one network namespace
	// (native machines on one host). A VM's only engine leaves it empty.
	NetworkID string
}

// Server is the agent: the engine state and the ttrpc services over it.
type Server struct {
	opts    Options
	db      *bolt.DB
	streams *streamRegistry
	events  *eventBus
	ttrpc   *ttrpc.Server
	started time.Time

	images   *imagesService
	volumes  *volume.Store
	nets     *network.Manager
	engine   *engine
	shutdown chan struct{}
	once     sync.Once

	mu        sync.Mutex
	listeners map[*connListener]struct{}
}

// New opens (or creates) the state under opts.DataDir and registers the
// services. Only one Server may use a data dir at a time: New fails with a
// clear error while another agent holds it.
func New(ctx context.Context, opts Options) (*Server, error) {
	if opts.DataDir == "" {
		return nil, errors.New("agent: no data dir given")
	}
	if err := os.MkdirAll(opts.DataDir, 0o711); err != nil {
		return nil, fmt.Errorf("agent: create data dir: %w", err)
	}
	db, err := bolt.Open(filepath.Join(opts.DataDir, "metadata.db"), 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("agent: data dir %s is in use by another berth-agent", opts.DataDir)
		}
		return nil, fmt.Errorf("agent: open metadata: %w", err)
	}
	s := &Server{
		opts:      opts,
		db:        db,
		streams:   newStreamRegistry(),
		events:    newEventBus(),
		started:   time.Now(),
		shutdown:  make(chan struct{}),
		listeners: map[*connListener]struct{}{},
	}
	s.images, err = newImagesService(ctx, s)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.volumes, err = volume.Open(filepath.Join(opts.DataDir, "volumes"), db)
	if err != nil {
		db.Close()
		return nil, err
	}
	if err := s.openEngine(ctx); err != nil {
		s.images.close()
		db.Close()
		return nil, err
	}
	ts, err := ttrpc.NewServer(ttrpc.WithUnaryServerInterceptor(errorInterceptor))
	if err != nil {
		s.closeEngine()
		db.Close()
		return nil, err
	}
	agentv1.RegisterTTRPCSystemService(ts, &systemService{s: s})
	agentv1.RegisterTTRPCImagesService(ts, s.images)
	agentv1.RegisterTTRPCVolumesService(ts, &volumesService{store: s.volumes, events: s.events})
	agentv1.RegisterTTRPCContainersService(ts, &containersService{e: s.engine, streams: s.streams})
	agentv1.RegisterTTRPCNetworksService(ts, &networksService{e: s.engine})
	s.ttrpc = ts
	return s, nil
}

// errorInterceptor turns errdefs errors into status codes so that the host
// can tell "not found" from "unavailable".
func errorInterceptor(ctx context.Context, unmarshal ttrpc.Unmarshaler, _ *ttrpc.UnaryServerInfo, method ttrpc.Method) (any, error) {
	resp, err := method(ctx, unmarshal)
	if err != nil {
		return resp, errgrpc.ToGRPC(err)
	}
	return resp, nil
}

// toStatus converts an error for a streaming method, which the unary
// interceptor does not see.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	return errgrpc.ToGRPC(err)
}

// Serve accepts connections on l until ctx ends, Shutdown is called or l
// fails. Each connection starts with a stream header.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	cl := newConnListener(l.Addr())
	s.mu.Lock()
	s.listeners[cl] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, cl)
		s.mu.Unlock()
		cl.Close()
	}()

	errc := make(chan error, 1)
	go func() { errc <- s.ttrpc.Serve(ctx, cl) }()
	go func() {
		select {
		case <-ctx.Done():
		case <-s.shutdown:
		}
		l.Close()
	}()
	for {
		c, err := l.Accept()
		if err != nil {
			select {
			case <-ctx.Done():
				return nil
			case <-s.shutdown:
				return nil
			default:
			}
			return err
		}
		go s.dispatch(ctx, c, cl)
	}
}

func (s *Server) dispatch(ctx context.Context, c net.Conn, cl *connListener) {
	c.SetReadDeadline(time.Now().Add(headerTimeout))
	h, err := stream.Read(c)
	c.SetReadDeadline(time.Time{})
	if err != nil {
		log.G(ctx).WithError(err).Debug("dropping connection")
		c.Close()
		return
	}
	switch h.Kind {
	case stream.KindTTRPC:
		if !cl.push(c) {
			c.Close()
		}
	case stream.KindData:
		if err := s.streams.deliver(h.ID, c); err != nil {
			log.G(ctx).WithError(err).Debug("dropping data stream")
		}
	case stream.KindForward:
		s.serveForward(ctx, h.ID, c)
	default:
		log.G(ctx).Debugf("dropping %s stream: not served", h.Kind)
		c.Close()
	}
}

// Done is closed when a client asked the agent to shut down.
func (s *Server) Done() <-chan struct{} { return s.shutdown }

// Close stops serving and closes the state. Running work is cancelled.
func (s *Server) Close() error {
	s.once.Do(func() { close(s.shutdown) })
	if s.opts.StopContainersOnExit {
		s.stopContainers(context.Background())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.ttrpc.Shutdown(ctx)
	s.closeEngine() // containers keep running
	if s.images != nil {
		s.images.close()
	}
	return s.db.Close()
}

// connListener is a net.Listener fed with connections whose header said
// ttrpc.
type connListener struct {
	addr   net.Addr
	conns  chan net.Conn
	done   chan struct{}
	closer sync.Once
}

func newConnListener(addr net.Addr) *connListener {
	return &connListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *connListener) push(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.closer.Do(func() { close(l.done) })
	return nil
}

func (l *connListener) Addr() net.Addr { return l.addr }
