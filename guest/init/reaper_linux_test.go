package guestinit

import (
	"fmt"
	"os/exec"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// testReaper is the one reaper of the test process: two would steal each
// other's children, as two PID 1 reapers would.
var testReaper = sync.OnceValue(newReaper)

// TestReaper starts many short-lived children at once: each starter must
// get its own child's status even though one reaper waits for everything,
// including children that exit before start returns.
func TestReaper(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	r := testReaper()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(code int) {
			defer wg.Done()
			ws, err := r.run(exec.Command("sh", "-c", fmt.Sprintf("exit %d", code)))
			if err != nil {
				errs <- err
				return
			}
			if !ws.Exited() || ws.ExitStatus() != code {
				errs <- fmt.Errorf("child %d: status %v", code, describe(ws))
			}
		}(i % 7)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	ws, err := r.run(exec.Command("sh", "-c", "kill -9 $$"))
	if err != nil || ws.Signal() != unix.SIGKILL {
		t.Fatalf("killed child: %v, %v; want SIGKILL", describe(ws), err)
	}
}
