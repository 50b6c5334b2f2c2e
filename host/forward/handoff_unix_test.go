//go:build unix

package forward

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/errdefs"
)

func TestHandoff(t *testing.T) {
	agent := startFakeAgent(t, map[string]string{"c1": "127.0.0.1"})
	f := newForwarder(t, nil, WithHandoff(UnixHandoff(agent.dial)))
	port := publishOne(t, f, "c1", Binding{Proto: TCP, ContainerPort: echoTCP(t)})
	for range 3 {
		if b, err := echoThrough(t, port, "hello"); err != nil || b != "hello" {
			t.Fatalf("echo through a handed-off connection: %q, %v", b, err)
		}
	}
	if got := agent.streams.Load(); got != 3 {
		t.Fatalf("agent served %d handed-off connections, want 3", got)
	}
	if got := agent.accepted.Load(); got != 1 {
		t.Fatalf("the handoffs took %d agent connections, want 1 (one per target)", got)
	}
}

// An agent that closes the handoff stream (it restarted) gets a new one
// with the next connection, and no client connection is lost.
func TestHandoffReconnects(t *testing.T) {
	agent := startFakeAgent(t, map[string]string{"c1": "127.0.0.1"})
	agent.handoffOnce.Store(true)
	f := newForwarder(t, nil, WithHandoff(UnixHandoff(agent.dial)))
	port := publishOne(t, f, "c1", Binding{Proto: TCP, ContainerPort: echoTCP(t)})
	for i := range 3 {
		// Wait until the agent has dropped the last stream, so that the
		// next handoff finds it closed.
		for deadline := time.Now().Add(10 * time.Second); agent.accepted.Load() != int64(i) || agent.handoffStreams.Load() != 0; {
			if time.Now().After(deadline) {
				t.Fatalf("agent: %d connections accepted, %d handoff streams open; want %d, 0", agent.accepted.Load(), agent.handoffStreams.Load(), i)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if b, err := echoThrough(t, port, "hello"); err != nil || b != "hello" {
			t.Fatalf("connection %d: echo through a handed-off connection: %q, %v", i, b, err)
		}
	}
}

// Removing the container closes its handoff stream to the agent.
func TestHandoffClosesWithListener(t *testing.T) {
	agent := startFakeAgent(t, map[string]string{"c1": "127.0.0.1"})
	f := newForwarder(t, nil, WithHandoff(UnixHandoff(agent.dial)))
	port := publishOne(t, f, "c1", Binding{Proto: TCP, ContainerPort: echoTCP(t)})
	if b, err := echoThrough(t, port, "x"); err != nil || b != "x" {
		t.Fatalf("echo: %q, %v", b, err)
	}
	if got := agent.handoffStreams.Load(); got != 1 {
		t.Fatalf("%d handoff streams open, want 1", got)
	}
	f.Remove("c1")
	for deadline := time.Now().Add(10 * time.Second); agent.handoffStreams.Load() != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the handoff stream is still open after its container's forwards were removed")
		}
	}
}

func TestHandoffNeedsUnixSocket(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	h := UnixHandoff(func(ctx context.Context) (net.Conn, error) { return net.Dial("tcp4", ln.Addr().String()) })
	a, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := h(ctx, "c1", 80, a.(*net.TCPConn)); !errors.Is(err, errdefs.ErrNotImplemented) {
		t.Fatalf("handoff over TCP: %v, want not implemented", err)
	}
}

// receiveTestConn reads a socket passed with SCM_RIGHTS after the header.
func receiveTestConn(c net.Conn) (net.Conn, error) {
	oob := make([]byte, syscall.CmsgSpace(4))
	_, oobn, _, _, err := c.(*net.UnixConn).ReadMsgUnix(make([]byte, 1), oob)
	if err != nil {
		return nil, err
	}
	msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, errors.New("no socket passed")
	}
	fds, err := syscall.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, errors.New("no socket passed")
	}
	f := os.NewFile(uintptr(fds[0]), "conn")
	defer f.Close()
	return net.FileConn(f)
}

// echoThrough sends msg on a new connection to the published port,
// half-closes, and returns what came back until EOF; the connection is
// closed when it returns.
func echoThrough(t *testing.T, port uint16, msg string) (string, error) {
	t.Helper()
	c := dialTCP(t, port)
	defer c.Close()
	c.Write([]byte(msg))
	c.CloseWrite()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	return string(b), err
}
