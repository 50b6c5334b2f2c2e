package vm

import (
	"strconv"
	"strings"
	"testing"
)

// testVMCgroups: in the VM the engine runs on cgroup v2 (guest/init
// mounts the unified hierarchy). --memory, --cpus and --pids-limit reach
// the container's own cgroup (seen at its /sys/fs/cgroup, a private
// cgroup namespace), stats reports the limit, the processes, CPU and
// block I/O, inspect the limits, pause and unpause use the v2 freezer,
// and a memory hog is OOM-killed with exit 137 and State.OOMKilled.
func testVMCgroups(t *testing.T, e *env, ref string) {
	e.ok(t, "run", "-d", "--name", "limits", "--memory", "64m", "--cpus", "0.5", "--pids-limit", "20", ref,
		"sh", "-c", "busybox dd if=/dev/zero of=/tmp/f bs=1M count=8 2>/dev/null && busybox sync && exec busybox sleep 600")
	t.Cleanup(func() { e.run(t, commandTimeout, "rm", "-f", "limits") })
	r := e.ok(t, "exec", "limits", "sh", "-c", "cd /sys/fs/cgroup && busybox cat memory.max cpu.max pids.max && busybox cat /proc/self/cgroup")
	if want := "67108864\n50000 100000\n20\n0::/\n"; r.stdout != want {
		t.Errorf("the container's memory.max, cpu.max, pids.max and /proc/self/cgroup:\n%s\nwant:\n%s", r.stdout, want)
	}
	if r := e.ok(t, "inspect", "--format", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}", "limits"); r.stdout != "67108864 500000000 20\n" {
		t.Errorf("inspect HostConfig Memory NanoCpus PidsLimit = %q", r.stdout)
	}
	checkStats(t, e, ref)

	e.ok(t, "pause", "limits")
	if r := e.ok(t, "ps", "--filter", "name=limits", "--format", "{{.State}} {{.Status}}"); !strings.HasPrefix(r.stdout, "paused ") || !strings.HasSuffix(r.stdout, "(Paused)\n") {
		t.Errorf("ps after pause: %q", r.stdout)
	}
	if r := e.run(t, commandTimeout, "exec", "limits", "true"); r.code == 0 {
		t.Errorf("exec in a paused container succeeded")
	}
	e.ok(t, "unpause", "limits")
	if r := e.ok(t, "ps", "--filter", "name=limits", "--format", "{{.State}} {{.Status}}"); !strings.HasPrefix(r.stdout, "running ") || strings.Contains(r.stdout, "Paused") {
		t.Errorf("ps after unpause: %q", r.stdout)
	}
	if r := e.ok(t, "exec", "limits", "busybox", "echo", "thawed"); r.stdout != "thawed\n" {
		t.Errorf("exec after unpause: %q", r.stdout)
	}

	r = e.run(t, commandTimeout, "run", "--name", "hog", "--memory", "32m", ref,
		"sh", "-c", `x=$(busybox head -c 200m /dev/zero | busybox tr "\0" x); echo survived`)
	t.Cleanup(func() { e.run(t, commandTimeout, "rm", "-f", "hog") })
	if r.code != 137 || strings.Contains(r.stdout, "survived") {
		t.Errorf("a 200MB string in 32MB: want exit 137 (killed)\n%s", r)
	}
	if r := e.ok(t, "inspect", "--format", "{{.State.OOMKilled}} {{.State.ExitCode}}", "hog"); r.stdout != "true 137\n" {
		t.Errorf("inspect hog State.OOMKilled ExitCode = %q, want true 137", r.stdout)
	}
}

// checkStats: the limits container's memory limit and process count,
// and the 8MB it wrote, and a busy loop's CPU share.
func checkStats(t *testing.T, e *env, ref string) {
	t.Helper()
	r := e.ok(t, "stats", "--no-stream", "--format", "{{.MemUsage}}|{{.PIDs}}|{{.BlockIO}}", "limits")
	f := strings.Split(strings.TrimSpace(r.stdout), "|")
	if len(f) != 3 || !strings.HasSuffix(f[0], " / 64MiB") {
		t.Fatalf("stats MemUsage|PIDs|BlockIO = %q, want a limit of 64MiB", r.stdout)
	}
	if n, err := strconv.Atoi(f[1]); err != nil || n < 1 || n > 20 {
		t.Errorf("stats PIDs = %q, want 1 to 20", f[1])
	}
	if _, w, _ := strings.Cut(f[2], " / "); w == "0B" || w == "" {
		t.Errorf("stats BlockIO = %q, want the 8MB written counted", f[2])
	}
	t.Logf("stats limits: %s", strings.TrimSpace(r.stdout))
	e.ok(t, "run", "-d", "--name", "busy", "--cpus", "0.5", ref, "sh", "-c", "while :; do :; done")
	defer e.run(t, commandTimeout, "rm", "-f", "busy")
	r = e.ok(t, "stats", "--no-stream", "--format", "{{.CPUPerc}}", "busy")
	if p, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(r.stdout), "%"), 64); err != nil || p <= 0 {
		t.Errorf("stats CPUPerc of a busy loop = %q, want more than 0%%", r.stdout)
	}
	t.Logf("stats CPUPerc of a busy loop limited to --cpus 0.5 (2 CPUs): %s", strings.TrimSpace(r.stdout))
}
