package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/containerd/ttrpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/berth-dev/berth/host/machine"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
	"github.com/berth-dev/berth/proto/stream"
)

// fakeAgent serves a fake Images service (and System.OpenStream for data
// streams) over real ttrpc connections, each starting with a stream
// header, as the agent does.
type fakeAgent struct {
	*dataStreams
	images *fakeImages
	conns  chan net.Conn // ttrpc connections for the server
}

// newTestCLI returns a cli whose agent is a fake, with stdout and stderr
// captured.
func newTestCLI(t *testing.T, images *fakeImages) (*cli, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	f := &fakeAgent{dataStreams: newDataStreams(), images: images, conns: make(chan net.Conn)}
	images.agent = f
	srv, err := ttrpc.NewServer()
	if err != nil {
		t.Fatalf("ttrpc server: %v", err)
	}
	agentv1.RegisterTTRPCImagesService(srv, images)
	agentv1.RegisterTTRPCSystemService(srv, f.dataStreams)
	l := &chanListener{conns: f.conns, done: make(chan struct{})}
	go srv.Serve(context.Background(), l) //nolint:errcheck // ends with Close
	dial := func() (net.Conn, error) {
		a, b := net.Pipe()
		go f.dispatch(b)
		return a, nil
	}
	conn, err := stream.Open(dial, stream.Header{Kind: stream.KindTTRPC})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	cl := ttrpc.NewClient(conn)
	t.Cleanup(func() {
		cl.Close()
		srv.Close()
		l.Close()
	})
	var out, errOut bytes.Buffer
	c := &cli{in: strings.NewReader(""), out: &out, errOut: &errOut}
	c.conn = &agentConn{
		machine: &machine.Machine{Name: "test"},
		client:  cl,
		dial:    dial,
		System:  agentv1.NewTTRPCSystemClient(cl),
		Images:  agentv1.NewTTRPCImagesClient(cl),
	}
	return c, &out, &errOut
}

func (f *fakeAgent) dispatch(c net.Conn) {
	h, err := stream.Read(c)
	if err != nil {
		c.Close()
		return
	}
	switch h.Kind {
	case stream.KindTTRPC:
		f.conns <- c
	case stream.KindData:
		f.deliver(h.ID, c)
	default:
		c.Close()
	}
}

// dataStreams are the data streams a fake agent reserved with
// System.OpenStream, handed to its fake services by id when they connect.
// As a System service it serves OpenStream only.
type dataStreams struct {
	agentv1.TTRPCSystemService // nil: only OpenStream is served

	mu      sync.Mutex
	streams map[string]chan net.Conn
	next    int
	opened  chan string // when set, gets each reserved id
}

func newDataStreams() *dataStreams { return &dataStreams{streams: map[string]chan net.Conn{}} }

func (d *dataStreams) OpenStream(ctx context.Context, _ *emptypb.Empty) (*agentv1.OpenStreamResponse, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.next++
	id := fmt.Sprintf("s%d", d.next)
	d.streams[id] = make(chan net.Conn, 1)
	if d.opened != nil {
		d.opened <- id
	}
	return &agentv1.OpenStreamResponse{Id: id}, nil
}

// deliver hands c, a data connection whose header named id, to the
// service waiting for it; a connection for no reserved id is closed.
func (d *dataStreams) deliver(id string, c net.Conn) {
	d.mu.Lock()
	ch := d.streams[id]
	d.mu.Unlock()
	if ch == nil {
		c.Close()
		return
	}
	ch <- c
}

// stream waits for the data connection reserved as id.
func (d *dataStreams) stream(ctx context.Context, id string) (net.Conn, error) {
	d.mu.Lock()
	ch := d.streams[id]
	d.mu.Unlock()
	if ch == nil {
		return nil, errgrpc.ToGRPC(fmt.Errorf("data stream %q: %w", id, errdefs.ErrNotFound))
	}
	select {
	case c := <-ch:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type chanListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return &net.UnixAddr{Name: "fake", Net: "unix"} }

// fakeImages is an Images service with canned answers that records what it
// was asked.
type fakeImages struct {
	agentv1.TTRPCImagesService // nil: Build, Push and History are not faked
	agent                      *fakeAgent

	images   []*agentv1.Image
	inspect  map[string]*agentv1.InspectImageResponse
	progress []*agentv1.PullProgress
	removed  map[string][]*agentv1.ImageDeleteItem
	loaded   []string
	saveData []byte
	pruned   *agentv1.PruneImagesResponse
	err      error         // returned by every call when set
	block    chan struct{} // when set, Pull closes it after its progress and waits for cancellation

	mu       sync.Mutex
	pullReq  *agentv1.PullRequest
	listReq  *agentv1.ListImagesRequest
	tagReq   *agentv1.TagImageRequest
	pruneReq *agentv1.PruneImagesRequest
	loadData []byte
	calls    int
}

func (s *fakeImages) called() error {
	s.mu.Lock()
	s.calls++
	s.mu.Unlock()
	if s.err != nil {
		return errgrpc.ToGRPC(s.err)
	}
	return nil
}

func notFound(ref string) error {
	return errgrpc.ToGRPC(fmt.Errorf("image %q: %w", ref, errdefs.ErrNotFound))
}

func (s *fakeImages) Pull(ctx context.Context, r *agentv1.PullRequest, st agentv1.TTRPCImages_PullServer) error {
	s.mu.Lock()
	s.pullReq = r
	s.mu.Unlock()
	if err := s.called(); err != nil {
		return err
	}
	for _, m := range s.progress {
		if err := st.Send(m); err != nil {
			return err
		}
	}
	if s.block != nil {
		close(s.block)
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

func (s *fakeImages) List(ctx context.Context, r *agentv1.ListImagesRequest) (*agentv1.ListImagesResponse, error) {
	s.mu.Lock()
	s.listReq = r
	s.mu.Unlock()
	if err := s.called(); err != nil {
		return nil, err
	}
	return &agentv1.ListImagesResponse{Images: s.images}, nil
}

func (s *fakeImages) Inspect(ctx context.Context, r *agentv1.InspectImageRequest) (*agentv1.InspectImageResponse, error) {
	if err := s.called(); err != nil {
		return nil, err
	}
	if resp, ok := s.inspect[r.Ref]; ok {
		return resp, nil
	}
	return nil, notFound(r.Ref)
}

func (s *fakeImages) Remove(ctx context.Context, r *agentv1.RemoveImageRequest) (*agentv1.RemoveImageResponse, error) {
	if err := s.called(); err != nil {
		return nil, err
	}
	if items, ok := s.removed[r.Ref]; ok {
		return &agentv1.RemoveImageResponse{Items: items}, nil
	}
	return nil, notFound(r.Ref)
}

func (s *fakeImages) Tag(ctx context.Context, r *agentv1.TagImageRequest) (*emptypb.Empty, error) {
	s.mu.Lock()
	s.tagReq = r
	s.mu.Unlock()
	if err := s.called(); err != nil {
		return nil, err
	}
	if _, ok := s.inspect[r.Source]; !ok {
		return nil, notFound(r.Source)
	}
	return &emptypb.Empty{}, nil
}

func (s *fakeImages) Load(ctx context.Context, r *agentv1.LoadImageRequest) (*agentv1.LoadImageResponse, error) {
	c, err := s.agent.stream(ctx, r.StreamId)
	if err != nil {
		return nil, errgrpc.ToGRPC(err)
	}
	defer c.Close()
	data, err := io.ReadAll(c)
	if err != nil {
		return nil, errgrpc.ToGRPC(err)
	}
	s.mu.Lock()
	s.loadData = data
	s.mu.Unlock()
	if err := s.called(); err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(data, []byte("tar")) {
		return nil, errgrpc.ToGRPC(fmt.Errorf("not a docker archive or OCI layout tarball: %w", errdefs.ErrInvalidArgument))
	}
	return &agentv1.LoadImageResponse{Loaded: s.loaded}, nil
}

func (s *fakeImages) Save(ctx context.Context, r *agentv1.SaveImageRequest) (*emptypb.Empty, error) {
	if err := s.called(); err != nil {
		return nil, err
	}
	for _, ref := range r.Refs {
		if _, ok := s.inspect[ref]; !ok {
			return nil, notFound(ref)
		}
	}
	c, err := s.agent.stream(ctx, r.StreamId)
	if err != nil {
		return nil, errgrpc.ToGRPC(err)
	}
	defer c.Close()
	if _, err := c.Write(s.saveData); err != nil {
		return nil, errgrpc.ToGRPC(err)
	}
	return &emptypb.Empty{}, nil
}

func (s *fakeImages) Prune(ctx context.Context, r *agentv1.PruneImagesRequest) (*agentv1.PruneImagesResponse, error) {
	s.mu.Lock()
	s.pruneReq = r
	s.mu.Unlock()
	if err := s.called(); err != nil {
		return nil, err
	}
	return s.pruned, nil
}
