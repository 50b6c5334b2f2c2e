package machine

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/internal/atomicfile"
	"github.com/berth-dev/berth/host/internal/errkind"
)

// lastExitFile records that a machine's VM stopped on its own (qemu killed,
// a kernel panic): the machine daemon writes it before it exits, and only
// an explicit `berth machine start` removes it, so that other commands do
// not boot a crashed VM again behind the user's back.
const lastExitFile = "last-exit.json"

// Exit says why a machine's VM stopped without being asked to.
type Exit struct {
	Time time.Time `json:"time"`
	// Reason is the first line of the driver's error ("qemu exited
	// (signal: killed)"); daemon.log has the whole of it.
	Reason string `json:"reason"`
}

// LastExit returns the record of the machine's VM stopping on its own, and
// whether there is one (cleared by the next Start).
func (m *Machine) LastExit() (Exit, bool) {
	b, err := os.ReadFile(filepath.Join(m.dir, lastExitFile))
	if err != nil {
		return Exit{}, false
	}
	var e Exit
	if json.Unmarshal(b, &e) != nil {
		return Exit{Reason: "unknown (" + lastExitFile + " is unreadable)"}, true
	}
	return e, true
}

// newExit makes the record of err, the driver's reason for the guest's exit.
func newExit(err error, now time.Time) Exit {
	reason := "the VM stopped"
	if err != nil {
		reason, _, _ = strings.Cut(err.Error(), "\n")
		reason, _, _ = strings.Cut(reason, "; ")
	}
	return Exit{Time: now.UTC().Truncate(time.Second), Reason: reason}
}

func writeLastExit(dir string, e Exit) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, lastExitFile), append(b, '\n'), 0o600)
}

func clearLastExit(dir string) error {
	if err := os.Remove(filepath.Join(dir, lastExitFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// notRunning is the error of a command that needs machine m after its VM
// stopped on its own: docker's "cannot connect" and how to start it again.
func notRunning(m *Machine, e Exit) error {
	return errkind.New(errdefs.ErrUnavailable,
		"cannot connect to machine %q: it is stopped; its VM stopped unexpectedly at %s (%s; see %s); start it with: berth machine start %s",
		m.Name, e.Time.Format(time.RFC3339), e.Reason, m.LogPath(), m.Name)
}
