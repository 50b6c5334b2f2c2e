package client

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"

	"github.com/containerd/ttrpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/berth-dev/berth/host/machine"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
	"github.com/berth-dev/berth/proto/stream"
)

// agentConn is an open ttrpc connection to a machine's agent, through the
// machine daemon, plus the means to open raw data streams next to it.
type agentConn struct {
	machine *machine.Machine
	client  *ttrpc.Client
	dial    stream.Dial

	System     agentv1.TTRPCSystemClient
	Images     agentv1.TTRPCImagesClient
	Containers agentv1.TTRPCContainersClient
	Volumes    agentv1.TTRPCVolumesService
	Networks   agentv1.TTRPCNetworksService
}

// resolveGlobals fills in the machine name and the state dir from flags and
// the environment. It is the only place the CLI reads them.
func (c *cli) resolveGlobals() error {
	if c.machine == "" {
		c.machine = os.Getenv("BERTH_MACHINE")
	}
	if c.machine == "" {
		c.machine = machine.DefaultName
	}
	if c.home == "" {
		c.home = os.Getenv("BERTH_HOME")
	}
	if c.home == "" {
		h, err := defaultHome()
		if err != nil {
			return err
		}
		c.home = h
	}
	return nil
}

// defaultHome is the per-user app data dir: ~/Library/Application
// Support/berth on macOS, %LocalAppData%\berth on Windows, and
// $XDG_DATA_HOME/berth (~/.local/share/berth) on Linux.
func defaultHome() (string, error) {
	switch runtime.GOOS {
	case "darwin":
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("cannot find the home dir; set BERTH_HOME: %w", err)
		}
		return filepath.Join(h, "Library", "Application Support", "berth"), nil
	case "windows":
		if d := os.Getenv("LocalAppData"); d != "" {
			return filepath.Join(d, "berth"), nil
		}
		d, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("cannot find the app data dir; set BERTH_HOME: %w", err)
		}
		return filepath.Join(d, "berth"), nil
	default:
		if d := os.Getenv("XDG_DATA_HOME"); d != "" {
			return filepath.Join(d, "berth"), nil
		}
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("cannot find the home dir; set BERTH_HOME: %w", err)
		}
		return filepath.Join(h, ".local", "share", "berth"), nil
	}
}

// machines opens the machine store under the state dir.
func (c *cli) machines() *machine.Store {
	return machine.NewStore(c.home)
}

// agent returns the connection to the selected machine's agent, starting the
// machine first when it is not running.
func (c *cli) agent(ctx context.Context) (*agentConn, error) {
	if c.conn != nil {
		return c.conn, nil
	}
	m, err := c.machines().EnsureRunning(ctx, c.machine, c.errOut)
	if err != nil {
		return nil, err
	}
	return c.connect(m)
}

// connect opens the ttrpc connection to the agent of m, a running machine.
func (c *cli) connect(m *machine.Machine) (*agentConn, error) {
	if c.conn != nil {
		return c.conn, nil
	}
	dial := m.Dialer()
	conn, err := stream.Open(dial, stream.Header{Kind: stream.KindTTRPC})
	if err != nil {
		return nil, fmt.Errorf("cannot connect to machine %q: %w", m.Name, err)
	}
	cl := ttrpc.NewClient(conn)
	c.conn = &agentConn{
		machine:    m,
		client:     cl,
		dial:       dial,
		System:     agentv1.NewTTRPCSystemClient(cl),
		Images:     agentv1.NewTTRPCImagesClient(cl),
		Containers: agentv1.NewTTRPCContainersClient(cl),
		Volumes:    agentv1.NewTTRPCVolumesClient(cl),
		Networks:   agentv1.NewTTRPCNetworksClient(cl),
	}
	return c.conn, nil
}

func (c *cli) closeAgent() {
	if c.conn != nil {
		c.conn.client.Close()
		c.conn = nil
	}
}

// openStream reserves a data stream on the agent and dials it. The caller
// passes the id to the call that uses the stream and closes the connection.
func (a *agentConn) openStream(ctx context.Context) (net.Conn, string, error) {
	r, err := a.System.OpenStream(ctx, &emptypb.Empty{})
	if err != nil {
		return nil, "", fromAgent(err)
	}
	conn, err := stream.Open(a.dial, stream.Header{Kind: stream.KindData, ID: r.Id})
	if err != nil {
		return nil, "", fmt.Errorf("cannot open a data stream to machine %q: %w", a.machine.Name, err)
	}
	return conn, r.Id, nil
}
