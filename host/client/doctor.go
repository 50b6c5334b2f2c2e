package client

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/ttrpc"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/berth-dev/berth/host/driver"
	"github.com/berth-dev/berth/host/driver/bootimage"
	"github.com/berth-dev/berth/host/machine"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
	"github.com/berth-dev/berth/proto/stream"
	"github.com/berth-dev/berth/proto/version"
)

// Clock skew limits of `berth doctor`.
const (
	clockWarn = 2 * time.Second
	clockFail = 30 * time.Second
)

// check results.
const (
	checkOK   = "ok"
	checkWarn = "warn"
	checkFail = "fail"
)

// doctor collects the lines of `berth doctor`.
type doctor struct {
	w     io.Writer
	home  string // berth's state dir, where a developer's VM image may be
	fails int
	// asked and answered bound when the agent took its Info.SystemTime.
	asked, answered time.Time
}

func (d *doctor) line(status, what, detail string) {
	if status == checkFail {
		d.fails++
	}
	fmt.Fprintf(d.w, "[%s] %s: %s\n", status, what, detail)
}

func (c *cli) newDoctorCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "doctor",
		Short: "Check that berth can run here and say how to fix what cannot",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.doctor(cmd.Context())
		},
	}
}

// doctor checks the machine's driver, VM image, daemon, clock, shares and
// port forwarding; any failed check makes the command exit 1.
func (c *cli) doctor(ctx context.Context) error {
	d := &doctor{w: c.out, home: c.home}
	store := c.machines()
	m, err := store.Get(c.machine)
	drvName := store.Drivers().Default()
	if err == nil {
		drvName = m.Config.Driver
	}
	f := d.checkDriver(store.Drivers(), drvName)
	imageDir := ""
	if m != nil {
		imageDir = m.Config.Image
	}
	d.checkImage(f, imageDir)
	info := d.checkDaemon(ctx, m, err)
	d.checkClock(info)
	d.checkShares(ctx, f, m, info)
	d.checkForwards(ctx, m, info != nil)
	if d.fails > 0 {
		return &exitError{code: 1, err: fmt.Errorf("berth doctor: %d check(s) failed", d.fails)}
	}
	return nil
}

func (d *doctor) checkDriver(r *driver.Registry, name string) driver.Factory {
	f, err := r.Get(name)
	if err != nil {
		d.line(checkFail, "virtualization", fmt.Sprintf("driver %s: %v", name, err))
		return nil
	}
	d.line(checkOK, "virtualization", fmt.Sprintf("driver %s can run here", name))
	return f
}

// isVM tells whether f's drivers boot a VM.
func isVM(f driver.Factory) bool {
	if f == nil {
		return false
	}
	drv, err := f.New(driver.Instance{Name: "doctor", Dir: os.TempDir()})
	return err == nil && drv.Features().VM
}

// checkImage checks the machine's --image dir when it has one, else the
// image beside the binary or in berth's state dir.
func (d *doctor) checkImage(f driver.Factory, imageDir string) {
	if f != nil && !isVM(f) {
		d.line(checkOK, "VM image", "not needed by the "+f.Name()+" driver")
		return
	}
	var img bootimage.Image
	var err error
	if imageDir != "" {
		img, err = bootimage.Open(imageDir)
	} else {
		var exe string
		if exe, err = os.Executable(); err != nil {
			d.line(checkFail, "VM image", "cannot find the berth executable: "+err.Error())
			return
		}
		img, err = bootimage.Find(bootimage.Dirs(exe, d.home, runtime.GOARCH))
	}
	if err == nil {
		err = img.CheckVersion(version.Version)
	}
	if err != nil {
		d.line(checkFail, "VM image", err.Error())
		return
	}
	d.line(checkOK, "VM image", fmt.Sprintf("%s (berth %s)", img.Dir, img.Manifest.Version))
}

// checkDaemon asks the agent for Info through the daemon; nil when it
// cannot.
func (d *doctor) checkDaemon(ctx context.Context, m *machine.Machine, getErr error) *agentv1.InfoResponse {
	switch {
	case errdefs.IsNotFound(getErr):
		d.line(checkWarn, "machine daemon", getErr.Error()+" (berth creates \"default\" on first use)")
		return nil
	case getErr != nil:
		d.line(checkFail, "machine daemon", getErr.Error())
		return nil
	case m.State() != machine.StateRunning:
		d.line(checkFail, "machine daemon", fmt.Sprintf("machine %q is %s; start it: berth machine start %s", m.Name, strings.ToLower(string(m.State())), m.Name))
		return nil
	}
	conn, err := stream.Open(m.Dialer(), stream.Header{Kind: stream.KindTTRPC})
	if err != nil {
		d.line(checkFail, "machine daemon", fmt.Sprintf("%v; restart it: berth machine stop %s && berth machine start %s", err, m.Name, m.Name))
		return nil
	}
	cl := ttrpc.NewClient(conn)
	defer cl.Close()
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	d.asked = time.Now()
	info, err := agentv1.NewTTRPCSystemClient(cl).Info(cctx, &emptypb.Empty{})
	d.answered = time.Now()
	if err != nil {
		d.line(checkFail, "machine daemon", fmt.Sprintf("the agent does not answer: %v; see %s", err, m.LogPath()))
		return nil
	}
	d.line(checkOK, "machine daemon", fmt.Sprintf("machine %q answers (agent %s)", m.Name, info.ServerVersion))
	return info
}

func (d *doctor) checkClock(info *agentv1.InfoResponse) {
	if info == nil || info.SystemTime == nil {
		d.line(checkWarn, "clock", "not checked: the agent did not answer")
		return
	}
	skew := clockSkew(d.asked, d.answered, info.SystemTime.AsTime())
	switch {
	case skew >= clockFail:
		d.line(checkFail, "clock", fmt.Sprintf("the machine's clock is %v off the host's; restart the machine (berth machine stop && berth machine start)", skew.Round(time.Second)))
	case skew >= clockWarn:
		d.line(checkWarn, "clock", fmt.Sprintf("the machine's clock is %v off the host's", skew.Round(time.Millisecond)))
	default:
		d.line(checkOK, "clock", "in step with the host")
	}
}

// clockSkew is how far the guest's time g is off the host's, at least:
// the agent read its clock somewhere between asked and answered (host
// times), so the skew is the distance from g to that interval, and the
// round trip never counts as skew.
func clockSkew(asked, answered, g time.Time) time.Duration {
	switch {
	case g.Before(asked):
		return asked.Sub(g)
	case g.After(answered):
		return g.Sub(answered)
	}
	return 0
}

// checkShares says whether every folder share the VM was asked to mount
// is mounted (see doctor_shares.go).
func (d *doctor) checkShares(ctx context.Context, f driver.Factory, m *machine.Machine, info *agentv1.InfoResponse) {
	switch {
	case f != nil && !isVM(f):
		d.line(checkOK, "folder shares", "not needed: the "+f.Name()+" driver sees the host's files")
		return
	case info == nil:
		d.line(checkWarn, "folder shares", "not checked: the agent did not answer")
		return
	}
	shares, mounts, err := vmShareState(ctx, m)
	switch {
	case errdefs.IsNotImplemented(err):
		d.line(checkWarn, "folder shares", "not checked: this machine's agent cannot run commands in the VM; update berth and restart the machine")
	case err != nil:
		d.line(checkWarn, "folder shares", "not checked: "+err.Error())
	default:
		d.shareLine(m, shares, mounts)
	}
}

func (d *doctor) shareLine(m *machine.Machine, shares []vmShare, mounts map[string]string) {
	probs := shareProblems(shares, mounts)
	switch {
	case len(shares) == 0:
		d.line(checkOK, "folder shares", "the machine shares no folders")
	case len(probs) > 0:
		d.line(checkFail, "folder shares", fmt.Sprintf("%s; see %s, then restart the machine: berth machine stop %s && berth machine start %s",
			strings.Join(probs, "; "), m.LogPath(), m.Name, m.Name))
	default:
		paths := make([]string, len(shares))
		for i, s := range shares {
			paths[i] = s.Path
		}
		d.line(checkOK, "folder shares", "mounted in the VM: "+strings.Join(paths, ", "))
	}
}
