// Package native is the driver without a VM: on Linux the agent runs on the
// host itself, as a child of the machine daemon, serving on a unix socket in
// the machine's dir. It needs root (overlayfs, namespaces, nftables) and is
// the fast path for tests and a real option for Linux users.
package native

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"path/filepath"

	"github.com/berth-dev/berth/host/driver"
	"github.com/berth-dev/berth/host/transport"
)

// Name is the driver's registry name.
const Name = "native"

// AgentBinary is the name of the agent's executable.
const AgentBinary = "berth-agent"

// Files in the machine's dir.
const (
	agentSocket = "agent.sock"
	agentPID    = "agent.pid"
	dataDir     = "data"
)

// Factory makes native drivers.
type Factory struct{}

var _ driver.Factory = Factory{}

// Name returns "native".
func (Factory) Name() string { return Name }

// New returns the native driver for inst.
func (Factory) New(inst driver.Instance) (driver.Driver, error) {
	return &Driver{inst: inst}, nil
}

// features are the same on every OS; only Linux can use them.
var features = driver.Features{NeedsRoot: true, SameFilesystem: true}

// Name returns "native".
func (d *Driver) Name() string { return Name }

// Features says: no VM, root needed, host paths are the agent's paths.
func (d *Driver) Features() driver.Features { return features }

// SocketPath is where the agent of inst listens.
func SocketPath(inst driver.Instance) string { return filepath.Join(inst.Dir, agentSocket) }

// NetworkID is the agent's --network-id for the machine kept in dir: 8 hex
// digits of its path's SHA-256, so that the default bridge (berth-<id>) and
// the nftables table of one native machine never collide with another's on
// the same host.
func NetworkID(dir string) string {
	sum := sha256.Sum256([]byte(filepath.Clean(dir)))
	return hex.EncodeToString(sum[:4])
}

// DialAgent connects to the agent's unix socket.
func (d *Driver) DialAgent(ctx context.Context) (net.Conn, error) {
	return transport.Unix{Path: SocketPath(d.inst)}.Dial(ctx)
}
