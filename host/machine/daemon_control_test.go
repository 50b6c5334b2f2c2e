package machine

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/proto/stream"
)

// controlDial returns a stream.Dial whose connections are served by pm's
// control channel after the header is checked, as the daemon does.
func controlDial(t *testing.T, pm *portManager) stream.Dial {
	return func() (net.Conn, error) {
		client, server := net.Pipe()
		go func() {
			h, err := stream.Read(server)
			if err != nil || h.Kind != stream.KindDaemon {
				t.Errorf("header: %+v %v", h, err)
				server.Close()
				return
			}
			pm.serveControl(context.Background(), server)
		}()
		return client, nil
	}
}

func TestControlProtocol(t *testing.T) {
	src := newFakeSource()
	pm := testManager(t, src, false)
	dial := controlDial(t, pm)
	ctx := context.Background()
	p := freePort(t)
	src.set(published{ID: "c1", Up: true, Bindings: bindings(t, fmt.Sprintf("127.0.0.1:%d:80", p), "127.0.0.1::53/udp")})

	fws, err := SyncForwards(ctx, dial, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if len(fws) != 2 || fws[0].HostIP.String() != "127.0.0.1" {
		t.Fatalf("sync: %+v", fws)
	}
	var udpPort uint16
	for _, f := range fws {
		if f.Proto == "udp" {
			udpPort = f.HostPort
		}
	}
	if udpPort == 0 {
		t.Fatalf("no real udp port in %+v", fws)
	}
	all, err := ListForwards(ctx, dial)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := forwardsString(all), fmt.Sprintf("c1:tcp/80@%d c1:udp/53@%d", p, udpPort); got != want {
		t.Fatalf("list = %q, want %q", got, want)
	}

	// Errors keep their kind and docker's words.
	src.set(published{ID: "c2", Up: true, Bindings: bindings(t, fmt.Sprintf("127.0.0.1:%d:80", p))})
	_, err = SyncForwards(ctx, dial, "c2")
	if !errdefs.IsConflict(err) || err.Error() != fmt.Sprintf("Bind for 127.0.0.1:%d failed: port is already allocated", p) {
		t.Fatalf("conflict: %v", err)
	}
	if _, err := SyncForwards(ctx, dial, ""); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("empty id: %v", err)
	}
	// A container the agent does not know has no forwards.
	if fws, err := SyncForwards(ctx, dial, "gone"); err != nil || len(fws) != 0 {
		t.Fatalf("unknown container: %v %v", fws, err)
	}
}

func TestControlBadRequests(t *testing.T) {
	pm := testManager(t, newFakeSource(), false)
	for _, tc := range []struct{ name, line, want string }{
		{"not json", "hello\n", `"kind":"invalid argument"`},
		{"unknown op", `{"op":"frob"}` + "\n", `unknown control op \"frob\"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, server := net.Pipe()
			go pm.serveControl(context.Background(), server)
			defer client.Close()
			if _, err := client.Write([]byte(tc.line)); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 4096)
			n, err := client.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(buf[:n]); !strings.Contains(got, tc.want) {
				t.Fatalf("reply %q, want it to contain %q", got, tc.want)
			}
		})
	}
}
