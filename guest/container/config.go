package container

import (
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// CreateConfig is the docker-like part of a container's configuration: what
// `docker create` flags set. Zero values mean "docker's default".
type CreateConfig struct {
	// Cmd replaces the image's Cmd when non-empty.
	Cmd []string
	// Entrypoint replaces the image's Entrypoint when non-nil (an empty,
	// non-nil slice clears it, like --entrypoint ""); it also resets the
	// image's Cmd, as docker does.
	Entrypoint []string
	// Env entries (KEY=VALUE) override the image's environment.
	Env        []string
	WorkingDir string
	// User is "name", "uid", "name:group" or "uid:gid" (image default when empty).
	User string
	// GroupAdd lists additional groups (names or gids).
	GroupAdd  []string
	Tty       bool
	OpenStdin bool
	// StdinOnce closes the container's stdin when the first attached
	// client detaches (docker run -i without -d).
	StdinOnce   bool
	Hostname    string
	Domainname  string
	Labels      map[string]string
	StopSignal  string
	StopTimeout *int // seconds; nil = 10
	// ReadonlyRootfs mounts the root filesystem read-only.
	ReadonlyRootfs bool
	Privileged     bool
	CapAdd         []string
	CapDrop        []string
	// Init runs an init process (the runtime's configured init binary) as PID 1.
	Init      bool
	Memory    int64 // bytes; 0 = unlimited
	NanoCPUs  int64 // 1e9 = one CPU; 0 = unlimited
	PidsLimit int64 // 0 = unlimited
	ShmSize   int64 // bytes; 0 = 64 MiB
	Ulimits   []Ulimit
	Mounts    []Mount
	// ExtraHosts are "host:ip" or "host=ip" entries for /etc/hosts.
	ExtraHosts []string
	Network    NetworkConfig
}

// Ulimit is one --ulimit: name without the RLIMIT_ prefix ("nofile").
type Ulimit struct {
	Name string
	Soft uint64
	Hard uint64
}

// Mount types accepted in Mount.Type.
const (
	MountBind   = "bind"
	MountVolume = "volume" // a volume directory, bind-mounted
	MountTmpfs  = "tmpfs"
)

// Mount is one -v / --mount / --tmpfs entry. Source is a host (guest) path
// for bind and volume mounts.
type Mount struct {
	Type     string
	Source   string
	Target   string
	ReadOnly bool
	// TmpfsSize (bytes) and TmpfsMode apply to tmpfs mounts.
	TmpfsSize int64
	TmpfsMode uint32
}

// Network modes for NetworkConfig.Mode.
const (
	NetworkNone  = "none"  // a fresh, empty network namespace (loopback only)
	NetworkHost  = "host"  // the agent's network namespace
	NetworkNetns = "netns" // join the namespace at NetworkConfig.NetnsPath
)

// NetworkConfig says which network namespace the container gets, plus the
// content of its /etc/hosts and /etc/resolv.conf that the network layer
// decides.
type NetworkConfig struct {
	Mode      string // "" = none
	NetnsPath string
	// HostsEntries are extra "IP\tNAMES" lines (e.g. the container's own
	// address and aliases) appended to the default /etc/hosts.
	HostsEntries []string
	// ResolvConf is the container's /etc/resolv.conf content; empty means
	// "nameserver 127.0.0.11"-free default: the agent's own resolv.conf.
	ResolvConf []byte
}

// RestartPolicy is docker's --restart: Name is "", "no", "always",
// "unless-stopped" or "on-failure" (with MaximumRetryCount, 0 = unlimited).
type RestartPolicy struct {
	Name              string
	MaximumRetryCount int
}

// LogConfig configures the json-file log driver: MaxSize bytes per file
// (0 = unlimited) and MaxFile files kept (0 or 1 = one).
type LogConfig struct {
	MaxSize int64
	MaxFile int
}

// Config is everything Runtime.Create needs.
type Config struct {
	ID string
	// Name is informational (docker's container name, without '/').
	Name string
	// Image is the image's OCI config (v1.Image.Config).
	Image ocispec.ImageConfig
	// Lowers are the image's overlay lower dirs, top-most first. Empty
	// means the container's root filesystem is just its own directory.
	Lowers  []string
	Create  CreateConfig
	Restart RestartPolicy
	Log     LogConfig
	// AutoRemove removes the container when it exits (--rm).
	AutoRemove bool
	Created    time.Time
}
