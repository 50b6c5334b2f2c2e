package machine

import (
	"context"
	"testing"
	"time"
)

// TestDaemonControlChannel: the running daemon answers KindDaemon
// connections itself and still splices every other kind to the agent.
func TestDaemonControlChannel(t *testing.T) {
	s, _ := daemonStore(t, nil)
	m := newRunning(t, s, "ctl")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fws, err := ListForwards(ctx, m.Dialer())
	if err != nil || len(fws) != 0 {
		t.Fatalf("list on a new machine: %v %v", fws, err)
	}
	// A container the agent does not have: no forwards, no error.
	if fws, err := SyncForwards(ctx, m.Dialer(), "0123456789ab"); err != nil || len(fws) != 0 {
		t.Fatalf("sync of an unknown container: %v %v", fws, err)
	}
	// ttrpc still reaches the agent through the same socket.
	if v := agentVersion(t, m); v == "" {
		t.Fatal("no agent version through the daemon")
	}
	// A connection with a bad header is closed.
	c, err := m.Dialer()()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET / HTTP/1.0\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if n, err := c.Read(make([]byte, 1)); err == nil || n != 0 {
		t.Fatalf("bad header: read %d, %v; want the connection closed", n, err)
	}
}
