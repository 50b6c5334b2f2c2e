package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestInitErrors(t *testing.T) {
	h := home(t)
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"bad name", []string{"machine", "init", "a/b"}, 1, `Error: invalid machine name "a/b"`},
		{"unknown driver", []string{"machine", "init", "x", "--driver", "nope"}, 1, `Error: invalid driver "nope": known drivers are hcs, native, qemu, vz`},
		{"driver of another OS", []string{"machine", "init", "x", "--driver", "vz"}, 1, `Error: driver "vz" does not run on linux (it runs on darwin); use --driver native`},
		{"bad memory", []string{"machine", "init", "x", "--memory", "lots"}, 125, `invalid --memory "lots"`},
		{"bad cpus", []string{"machine", "init", "x", "--cpus", "0"}, 125, `invalid --cpus 0`},
		{"start missing", []string{"machine", "start", "nope"}, 1, `Error: machine "nope" does not exist; create it with: berth machine init nope`},
		{"info on a missing machine", []string{"--machine", "nope", "info"}, 1, `Error: machine "nope" does not exist; create it with: berth machine init nope`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expect(t, berth(t, h, tt.args...), tt.code, "", tt.stderr)
		})
	}
	if r := berth(t, h, "machine", "ls", "-q"); r.code != 0 || r.out != "" {
		t.Errorf("failed inits left machines: %q %q", r.out, r.err)
	}
}

// TestMachineLifecycle walks a machine through init, start, ls, version,
// info, inspect, kill -9 of its daemon, stop and rm, as a user would.
func TestMachineLifecycle(t *testing.T) {
	h := home(t)
	expect(t, berth(t, h, "machine", "ls"), 0, "NAME", "")
	if r := berth(t, h, "machine", "ls"); fields(r.out) != "NAME DRIVER STATE CPUS MEMORY DISK" {
		t.Errorf("empty ls = %q", r.out)
	}
	expect(t, berth(t, h, "machine", "init", "--insecure-registry", "reg.test:5000"), 0, "default\n", "")
	expect(t, berth(t, h, "machine", "init"), 1, "", `Error: machine "default" already exists`)
	r := berth(t, h, "machine", "ls")
	if got := fields(r.out); got != "NAME DRIVER STATE CPUS MEMORY DISK default native Stopped 2 2GiB 64GiB" {
		t.Errorf("ls = %q", r.out)
	}
	r = berth(t, h, "version")
	expect(t, r, 1, "Client:\n Version:", `cannot connect to machine "default": it is stopped; start it with: berth machine start default`)
	if strings.Contains(r.out, "Server") {
		t.Errorf("version printed a server part for a stopped machine:\n%s", r.out)
	}

	expect(t, berth(t, h, "machine", "start"), 0, "default\n", `Starting machine "default" (native driver)...`)
	dir := filepath.Join(h, "machines", "default")
	fi, err := os.Stat(filepath.Join(dir, "daemon.sock"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("daemon socket: %v, %v; want mode 0600", fi.Mode(), err)
	}
	logRSS(t, daemonPID(dir), "idle machine daemon")
	logRSS(t, pidFile(dir, "agent.pid"), "idle agent")
	expect(t, berth(t, h, "machine", "start"), 0, "default\n", "")
	if r := berth(t, h, "machine", "ls", "--format", "{{.Name}} {{.Driver}} {{.State}}"); r.out != "default native Running\n" {
		t.Errorf("ls --format = %q", r.out)
	}
	if r := berth(t, h, "machine", "ls", "-q"); r.out != "default\n" {
		t.Errorf("ls -q = %q", r.out)
	}
	expect(t, berth(t, h, "version"), 0, "Server: berth\n Engine:\n  Version:", "")
	r = berth(t, h, "info")
	for _, want := range []string{"Client:\n Version:", "\nServer:\n Containers: ", " Machine: default\n", " Driver: native\n",
		" Berth Root Dir: " + filepath.Join(dir, "data") + "\n", " Insecure Registries:\n  reg.test:5000\n", " Storage Driver: overlayfs\n"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("info lacks %q:\n%s%s", want, r.out, r.err)
		}
	}
	if r := berth(t, h, "info", "--format", "{{.Name}}/{{.MachineDriver}}/{{json .InsecureRegistries}}"); r.out != `default/native/["reg.test:5000"]`+"\n" {
		t.Errorf("info --format = %q %q", r.out, r.err)
	}
	checkInspect(t, h, "Running")
	expect(t, berth(t, h, "machine", "rm"), 1, "", `Error: machine "default" is running; stop it first (berth machine stop default) or use -f`)

	checkKill9(t, h, dir)

	expect(t, berth(t, h, "machine", "stop"), 0, "default\n", "")
	if r := berth(t, h, "machine", "ls", "--format", "{{.State}}"); r.out != "Stopped\n" {
		t.Errorf("state after stop = %q", r.out)
	}
	if _, err := os.Stat(filepath.Join(dir, "daemon.sock")); err == nil {
		t.Errorf("daemon socket left after stop")
	}
	checkInspect(t, h, "Stopped")
	expect(t, berth(t, h, "machine", "rm"), 0, "default\n", "")
	if r := berth(t, h, "machine", "ls", "-q"); r.out != "" {
		t.Errorf("ls after rm = %q", r.out)
	}
}

// checkKill9: after kill -9 of the daemon, the next command starts the
// machine again.
func checkKill9(t *testing.T, h, dir string) {
	t.Helper()
	if err := syscall.Kill(daemonPID(dir), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitState(t, h, "Stopped")
	expect(t, berth(t, h, "info", "--format", "{{.Name}}"), 0, "default\n", `Starting machine "default"`)
}

func checkInspect(t *testing.T, h, state string) {
	t.Helper()
	r := berth(t, h, "machine", "inspect")
	var got []struct {
		Name, Driver, State string
		CPUs                int
		Memory              int64
	}
	if err := json.Unmarshal([]byte(r.out), &got); err != nil || len(got) != 1 {
		t.Fatalf("inspect output %q: %v", r.out, err)
	}
	if g := got[0]; g.Name != "default" || g.Driver != "native" || g.State != state || g.CPUs != 2 || g.Memory != 2<<30 {
		t.Errorf("inspect = %+v, want default/native/%s/2 CPUs/2GiB", g, state)
	}
}

func waitState(t *testing.T, h, want string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		r := berth(t, h, "machine", "ls", "--format", "{{.State}}")
		if strings.TrimSpace(r.out) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("machine state %q, want %s", r.out, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// logRSS logs a process's resident memory, a figure worth watching.
func logRSS(t *testing.T, pid int, what string) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			t.Logf("%s (pid %d) %s", what, pid, strings.Join(strings.Fields(l), " "))
		}
	}
}
