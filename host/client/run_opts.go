package client

import (
	"github.com/spf13/pflag"

	"github.com/berth-dev/berth/host/share"
)

// containerOptions are the flags `run` and `create` share, named as in
// docker's CLI.
type containerOptions struct {
	name       string
	attach     *listValue
	stdin      bool
	tty        bool
	env        *listValue
	envFile    []string
	workdir    string
	user       string
	entrypoint string
	autoRemove bool
	restart    string
	volumes    []string
	mounts     mountList
	tmpfs      []string
	network    string
	aliases    []string
	hostname   string
	domainname string
	extraHosts *listValue
	labels     *listValue
	labelFile  []string
	readOnly   bool
	capAdd     []string
	capDrop    []string
	privileged bool
	init       bool
	memory     memBytes
	memSwap    memSwapBytes
	memResv    memBytes
	cpus       nanoCPUs
	cpuShares  int64
	cpusetCpus string
	pidsLimit  int64
	stopSignal string
	stopTime   int
	publish    []string
	publishAll bool
	expose     []string
	ip         string
	ip6        string
	dns        *listValue
	dnsSearch  []string
	dnsOptions []string
	platform   string
	pull       string
	shmSize    memBytes
	ulimits    ulimitList
	logDriver  string
	logOpts    []string
	securityOp []string
	sysctls    []string
	groupAdd   []string
	pid        string
	ipc        string
	uts        string
	devices    []string

	image string
	args  []string

	// resolver translates bind sources to VM paths; nil uses the host's
	// defaults (see bindResolver).
	resolver *share.Resolver
}

func newContainerOptions() *containerOptions {
	return &containerOptions{
		attach:     newListValue("list", validateAttach),
		env:        newListValue("list", nil),
		extraHosts: newListValue("list", validateExtraHost),
		labels:     newListValue("list", validateLabel),
		dns:        newListValue("list", validateIP),
	}
}

// addFlags adds the container flags of `create` and `run` to f.
func (o *containerOptions) addFlags(f *pflag.FlagSet) {
	f.SetInterspersed(false)
	// -h is --hostname here, as in docker: --help has no shorthand.
	f.Bool("help", false, "Print usage")
	f.StringVar(&o.name, "name", "", "Assign a name to the container")
	f.VarP(o.attach, "attach", "a", "Attach to STDIN, STDOUT or STDERR")
	f.BoolVarP(&o.stdin, "interactive", "i", false, "Keep STDIN open even if not attached")
	f.BoolVarP(&o.tty, "tty", "t", false, "Allocate a pseudo-TTY")
	f.VarP(o.env, "env", "e", "Set environment variables")
	f.StringArrayVar(&o.envFile, "env-file", nil, "Read in a file of environment variables")
	f.StringVarP(&o.workdir, "workdir", "w", "", "Working directory inside the container")
	f.StringVarP(&o.user, "user", "u", "", "Username or UID (format: <name|uid>[:<group|gid>])")
	f.StringVar(&o.entrypoint, "entrypoint", "", "Overwrite the default ENTRYPOINT of the image")
	f.BoolVar(&o.autoRemove, "rm", false, "Automatically remove the container and its associated anonymous volumes when it exits")
	f.StringVar(&o.restart, "restart", "", "Restart policy to apply when a container exits")
	f.StringArrayVarP(&o.volumes, "volume", "v", nil, "Bind mount a volume")
	f.Var(&o.mounts, "mount", "Attach a filesystem mount to the container")
	f.StringArrayVar(&o.tmpfs, "tmpfs", nil, "Mount a tmpfs directory")
	f.StringVar(&o.network, "network", "", "Connect a container to a network")
	f.StringVar(&o.network, "net", "", "Connect a container to a network")
	_ = f.MarkHidden("net")
	f.StringArrayVar(&o.aliases, "network-alias", nil, "Add network-scoped alias for the container")
	f.StringArrayVar(&o.aliases, "net-alias", nil, "Add network-scoped alias for the container")
	_ = f.MarkHidden("net-alias")
	f.StringVarP(&o.hostname, "hostname", "h", "", "Container host name")
	f.StringVar(&o.domainname, "domainname", "", "Container NIS domain name")
	f.Var(o.extraHosts, "add-host", "Add a custom host-to-IP mapping (host:ip)")
	f.VarP(o.labels, "label", "l", "Set meta data on a container")
	f.StringArrayVar(&o.labelFile, "label-file", nil, "Read in a line delimited file of labels")
	f.BoolVar(&o.readOnly, "read-only", false, "Mount the container's root filesystem as read only")
	f.StringArrayVar(&o.capAdd, "cap-add", nil, "Add Linux capabilities")
	f.StringArrayVar(&o.capDrop, "cap-drop", nil, "Drop Linux capabilities")
	f.BoolVar(&o.privileged, "privileged", false, "Give extended privileges to this container")
	f.BoolVar(&o.init, "init", false, "Run an init inside the container that forwards signals and reaps processes")
	f.VarP(&o.memory, "memory", "m", "Memory limit")
	f.Var(&o.memSwap, "memory-swap", "Swap limit equal to memory plus swap: '-1' to enable unlimited swap")
	f.Var(&o.memResv, "memory-reservation", "Memory soft limit")
	f.Var(&o.cpus, "cpus", "Number of CPUs")
	f.Int64VarP(&o.cpuShares, "cpu-shares", "c", 0, "CPU shares (relative weight)")
	f.StringVar(&o.cpusetCpus, "cpuset-cpus", "", "CPUs in which to allow execution (0-3, 0,1)")
	f.Int64Var(&o.pidsLimit, "pids-limit", 0, "Tune container pids limit (set -1 for unlimited)")
	f.StringVar(&o.stopSignal, "stop-signal", "", "Signal to stop the container")
	f.IntVar(&o.stopTime, "stop-timeout", 0, "Timeout (in seconds) to stop a container")
	f.StringArrayVarP(&o.publish, "publish", "p", nil, "Publish a container's port(s) to the host")
	f.BoolVarP(&o.publishAll, "publish-all", "P", false, "Publish all exposed ports to random ports")
	f.StringArrayVar(&o.expose, "expose", nil, "Expose a port or a range of ports")
	f.StringVar(&o.ip, "ip", "", "IPv4 address (e.g., 172.30.100.104)")
	f.StringVar(&o.ip6, "ip6", "", "IPv6 address (e.g., 2001:db8::33)")
	f.Var(o.dns, "dns", "Set custom DNS servers")
	f.StringArrayVar(&o.dnsSearch, "dns-search", nil, "Set custom DNS search domains")
	f.StringArrayVar(&o.dnsOptions, "dns-option", nil, "Set DNS options")
	f.StringVar(&o.platform, "platform", "", "Set platform if server is multi-platform capable")
	f.StringVar(&o.pull, "pull", pullMissing, `Pull image before running ("always", "missing", "never")`)
	f.Var(&o.shmSize, "shm-size", "Size of /dev/shm")
	f.Var(&o.ulimits, "ulimit", "Ulimit options")
	f.StringVar(&o.logDriver, "log-driver", "", "Logging driver for the container")
	f.StringArrayVar(&o.logOpts, "log-opt", nil, "Log driver options")
	f.StringArrayVar(&o.securityOp, "security-opt", nil, "Security Options")
	f.StringArrayVar(&o.sysctls, "sysctl", nil, "Sysctl options")
	f.StringArrayVar(&o.groupAdd, "group-add", nil, "Add additional groups to join")
	f.StringVar(&o.pid, "pid", "", "PID namespace to use")
	f.StringVar(&o.ipc, "ipc", "", "IPC mode to use")
	f.StringVar(&o.uts, "uts", "", "UTS namespace to use")
	f.StringArrayVar(&o.devices, "device", nil, "Add a host device to the container")
}

// Values of --pull.
const (
	pullMissing = "missing"
	pullAlways  = "always"
	pullNever   = "never"
)
