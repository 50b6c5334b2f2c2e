package qemu

import (
	"bytes"
	"context"
	"hash/fnv"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/log"

	"github.com/berth-dev/berth/host/driver/bootimage"
)

const agentPort = bootimage.AgentPort

// setProcAttr makes the child die with the machine daemon (a daemon killed
// with -9 leaves no VM running) and keeps it out of the daemon's signals.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// vsockAvailable reports whether the host can give VMs vhost-vsock.
func vsockAvailable() bool {
	fh, err := os.OpenFile("/dev/vhost-vsock", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	fh.Close()
	return true
}

// vsockCID derives a guest CID from the machine's dir, so that machines
// of one host get different CIDs (3 and up; 0-2 are reserved).
func vsockCID(dir string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(dir))
	return 3 + h.Sum32()%(1<<24)
}

// killStale kills a qemu of this machine that outlived its daemon (its
// pid file names it and its command line names the machine's dir).
func killStale(ctx context.Context, dir string) {
	b, err := os.ReadFile(filepath.Join(dir, pidFile))
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || !bytes.Contains(cmdline, []byte(filepath.Join(dir, qmpSocket))) {
		return
	}
	log.G(ctx).WithField("pid", pid).Warn("killing a qemu left running by an earlier machine daemon")
	syscall.Kill(pid, syscall.SIGKILL)
	for range 250 {
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
