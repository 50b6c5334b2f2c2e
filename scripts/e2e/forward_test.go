//go:build linux

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berth-dev/berth/internal/machineproc"
	"github.com/berth-dev/berth/internal/testimage"
)

// udpEcho is a tiny UDP echo server for the forward image (busybox's nc
// has no UDP mode in Debian's build).
const udpEcho = `package main

import (
	"net"
	"os"
)

func main() {
	c, err := net.ListenPacket("udp", ":"+os.Args[1])
	if err != nil {
		panic(err)
	}
	buf := make([]byte, 65535)
	for {
		n, a, err := c.ReadFrom(buf)
		if err != nil {
			panic(err)
		}
		c.WriteTo(buf[:n], a)
	}
}
`

const indexHTML = "hello through the forward\n"

// forwardImage is the busybox image plus /udpecho, /www/index.html and
// EXPOSE 80/tcp 9999/udp.
func forwardImage(t *testing.T) v1.Image {
	t.Helper()
	layer := testimage.Layer(t, testimage.File{Name: "www/"}, testimage.GoProgram(t, "udpecho", udpEcho),
		testimage.File{Name: "www/index.html", Data: []byte(indexHTML)})
	return testimage.Image(t, busyboxImage(t), func(cf *v1.ConfigFile) {
		cf.Config.ExposedPorts = map[string]struct{}{"80/tcp": {}, "9999/udp": {}}
	}, layer)
}

// TestForward publishes container ports on 127.0.0.1 through the machine
// daemon's forwards (native driver, the same path as on a laptop) and
// mounts folders with relative paths.
func TestForward(t *testing.T) {
	requireBerth(t)
	img := serveImage(t, forwardImage(t))
	berthOK(t, "pull", img.ref)
	steps := []struct {
		name string
		fn   func(*testing.T, testImage)
	}{
		{"http through -p", testForwardHTTP},
		{"200 MB through the forward", testForwardBig},
		{"udp echo", testForwardUDP},
		{"range and -P", testForwardRangeAndAll},
		{"port in use", testForwardConflict},
		{"gone after stop", testForwardGoneAfterStop},
		{"gone after rm -f", testForwardGoneAfterRm},
		{"gone after kill", testForwardGoneAfterKill},
		{"gone after exit", testForwardGoneAfterExit},
		{"daemon kill -9", testForwardDaemonKilled},
		{"relative -v", testForwardRelativeVolume},
		{"missing bind sources", testForwardMissingSource},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) { s.fn(t, img) })
	}
}

// freeLoopbackPort returns a TCP and UDP port free on 127.0.0.1 a moment ago.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
			u.Close()
			return p
		}
	}
	t.Fatal("no free port")
	return 0
}

// runHTTPD starts busybox httpd in a detached container named name with
// the publishing flags given.
func runHTTPD(t *testing.T, img testImage, name string, flags ...string) {
	t.Helper()
	args := append([]string{"run", "-d", "--name", name}, flags...)
	berthOK(t, append(args, img.ref, "busybox", "httpd", "-f", "-p", "80", "-h", "/www")...)
	t.Cleanup(func() { berth(t, nil, "rm", "-f", name) })
}

// get fetches url, retrying while the server in the container starts.
func get(t *testing.T, url string) []byte {
	t.Helper()
	client := &http.Client{Timeout: time.Minute}
	var last error
	for range 100 {
		resp, err := client.Get(url)
		if err == nil {
			b, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if rerr == nil && resp.StatusCode == http.StatusOK {
				return b
			}
			err = fmt.Errorf("status %s, read %v", resp.Status, rerr)
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("GET %s: %v", url, last)
	return nil
}

func testForwardHTTP(t *testing.T, img testImage) {
	port := freeLoopbackPort(t)
	runHTTPD(t, img, "fw-http", "-p", fmt.Sprintf("127.0.0.1:%d:80", port))
	// The forward exists when run -d returns.
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("no forward when run -d returned: %v", err)
	}
	c.Close()
	if b := get(t, fmt.Sprintf("http://127.0.0.1:%d/index.html", port)); string(b) != indexHTML {
		t.Fatalf("got %q", b)
	}
	want := fmt.Sprintf("127.0.0.1:%d->80/tcp", port)
	if r := berthOK(t, "ps", "--filter", "name=fw-http", "--format", "{{.Ports}}"); strings.TrimSpace(r.stdout) != want {
		t.Errorf("ps PORTS = %q, want %q", r.stdout, want)
	}
	if r := berthOK(t, "port", "fw-http"); strings.TrimSpace(r.stdout) != "80/tcp -> "+want[:strings.Index(want, "->")] {
		t.Errorf("port = %q", r.stdout)
	}
	r := berthOK(t, "inspect", "-f", "{{json .NetworkSettings.Ports}}", "fw-http")
	var ports map[string][]struct{ HostIp, HostPort string }
	if err := json.Unmarshal([]byte(r.stdout), &ports); err != nil {
		t.Fatalf("inspect ports %q: %v", r.stdout, err)
	}
	if b := ports["80/tcp"]; len(b) != 1 || b[0].HostIp != "127.0.0.1" || b[0].HostPort != strconv.Itoa(port) {
		t.Errorf("inspect NetworkSettings.Ports = %s", r.stdout)
	}
}

func testForwardBig(t *testing.T, img testImage) {
	port := freeLoopbackPort(t)
	runHTTPD(t, img, "fw-big", "-p", fmt.Sprintf("127.0.0.1:%d:80", port))
	berthOK(t, "exec", "fw-big", "busybox", "dd", "if=/dev/urandom", "of=/www/big", "bs=1048576", "count=200")
	r := berthOK(t, "exec", "fw-big", "busybox", "sha256sum", "/www/big")
	want, _, _ := strings.Cut(r.stdout, " ")
	resp, err := (&http.Client{Timeout: 5 * time.Minute}).Get(fmt.Sprintf("http://127.0.0.1:%d/big", port))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	if err != nil {
		t.Fatalf("after %d bytes: %v", n, err)
	}
	if n != 200<<20 || hex.EncodeToString(h.Sum(nil)) != want {
		t.Fatalf("got %d bytes with sha256 %x, want %d bytes with %s", n, h.Sum(nil), 200<<20, want)
	}
}

func testForwardUDP(t *testing.T, img testImage) {
	port := freeLoopbackPort(t)
	berthOK(t, "run", "-d", "--name", "fw-udp", "-p", fmt.Sprintf("127.0.0.1:%d:9999/udp", port), img.ref, "/udpecho", "9999")
	defer berth(t, nil, "rm", "-f", "fw-udp")
	c, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 2048)
	for i := range 100 {
		msg := fmt.Sprintf("ping %d", i)
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, err := c.Read(buf)
		if err == nil {
			if string(buf[:n]) != msg {
				t.Fatalf("echo %q, want %q", buf[:n], msg)
			}
			return
		}
	}
	t.Fatal("no UDP echo through the forward")
}

func testForwardRangeAndAll(t *testing.T, img testImage) {
	// A range whose first port is taken publishes on the next one.
	first := freeLoopbackPort(t)
	hold, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", first))
	if err != nil {
		t.Skipf("cannot hold port %d: %v", first, err)
	}
	defer hold.Close()
	runHTTPD(t, img, "fw-range", "-p", fmt.Sprintf("127.0.0.1:%d-%d:80", first, first+20))
	r := berthOK(t, "port", "fw-range", "80")
	host, p, err := net.SplitHostPort(strings.TrimSpace(r.stdout))
	got, _ := strconv.Atoi(p)
	if err != nil || host != "127.0.0.1" || got <= first || got > first+20 {
		t.Fatalf("port fw-range 80 = %q, want 127.0.0.1:%d-%d", r.stdout, first+1, first+20)
	}
	if b := get(t, fmt.Sprintf("http://127.0.0.1:%d/index.html", got)); string(b) != indexHTML {
		t.Fatalf("range: got %q", b)
	}
	// -P publishes every exposed port on a free host port of 127.0.0.1 and ::1.
	runHTTPD(t, img, "fw-all", "-P")
	lines := berthOK(t, "port", "fw-all").lines()
	var httpPort string
	for _, l := range lines {
		if a, ok := strings.CutPrefix(l, "80/tcp -> 127.0.0.1:"); ok {
			httpPort = a
		}
	}
	if httpPort == "" || !strings.Contains(strings.Join(lines, "\n"), "9999/udp -> 127.0.0.1:") {
		t.Fatalf("port fw-all:\n%s", strings.Join(lines, "\n"))
	}
	if b := get(t, "http://127.0.0.1:"+httpPort+"/index.html"); string(b) != indexHTML {
		t.Fatalf("-P: got %q", b)
	}
}

func testForwardConflict(t *testing.T, img testImage) {
	hold, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	port := hold.Addr().(*net.TCPAddr).Port
	defer berth(t, nil, "rm", "-f", "fw-busy")
	r := berth(t, nil, "run", "-d", "--name", "fw-busy", "-p", fmt.Sprintf("127.0.0.1:%d:80", port), img.ref, "busybox", "httpd", "-f", "-p", "80", "-h", "/www")
	want := "Error response from daemon: driver failed programming external connectivity on endpoint fw-busy ("
	tail := fmt.Sprintf("): Bind for 127.0.0.1:%d failed: port is already allocated", port)
	errs := strings.Join(r.errLines(), "\n")
	if r.code != 125 || !strings.HasPrefix(errs, want) || !strings.HasSuffix(errs, tail) {
		t.Fatalf("want exit 125 with docker's message:\n%s", r)
	}
	if st := strings.TrimSpace(berthOK(t, "inspect", "-f", "{{.State.Status}}", "fw-busy").stdout); st == "running" {
		t.Fatalf("the container was left %s", st)
	}
	// start fails the same way.
	r = berth(t, nil, "start", "fw-busy")
	if r.code == 0 || !strings.Contains(r.stderr, tail) {
		t.Fatalf("start with the port in use:\n%s", r)
	}
	// An invalid spec fails before anything is created.
	r = berth(t, nil, "run", "-d", "--name", "fw-bad", "-p", "127.0.0.1:99999:80", img.ref)
	if r.code != 125 || !strings.Contains(r.stderr, "invalid") {
		t.Fatalf("invalid -p:\n%s", r)
	}
	if r := berth(t, nil, "inspect", "fw-bad"); r.code == 0 {
		berth(t, nil, "rm", "-f", "fw-bad")
		t.Fatal("a container was created for an invalid -p")
	}
}

func testForwardGoneAfterStop(t *testing.T, img testImage) {
	port := freeLoopbackPort(t)
	runHTTPD(t, img, "fw-stop", "-p", fmt.Sprintf("127.0.0.1:%d:80", port))
	get(t, fmt.Sprintf("http://127.0.0.1:%d/index.html", port))
	berthOK(t, "stop", "-t", "1", "fw-stop")
	if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
		c.Close()
		t.Fatal("the forward still accepts after stop")
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("want connection refused, got %v", err)
	}
	// start brings it back before it returns.
	berthOK(t, "start", "fw-stop")
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("no forward when start returned: %v", err)
	}
	c.Close()
}

// refused fails the test unless connecting to port on 127.0.0.1 is
// refused: the forward is gone (nothing else listens there).
func refused(t *testing.T, port int, after string) {
	t.Helper()
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err == nil {
		c.Close()
		t.Fatalf("the forward still accepts right after %s returned", after)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("after %s: want connection refused, got %v", after, err)
	}
}

func testForwardGoneAfterRm(t *testing.T, img testImage) {
	port := freeLoopbackPort(t)
	runHTTPD(t, img, "fw-rm", "-p", fmt.Sprintf("127.0.0.1:%d:80", port))
	get(t, fmt.Sprintf("http://127.0.0.1:%d/index.html", port))
	berthOK(t, "rm", "-f", "fw-rm") // by name: the agent no longer knows it afterwards
	refused(t, port, "rm -f")
	// The port is free for the next container at once.
	runHTTPD(t, img, "fw-rm2", "-p", fmt.Sprintf("127.0.0.1:%d:80", port))
	get(t, fmt.Sprintf("http://127.0.0.1:%d/index.html", port))
}

func testForwardGoneAfterKill(t *testing.T, img testImage) {
	port := freeLoopbackPort(t)
	runHTTPD(t, img, "fw-kill9", "-p", fmt.Sprintf("127.0.0.1:%d:80", port))
	get(t, fmt.Sprintf("http://127.0.0.1:%d/index.html", port))
	berthOK(t, "kill", "fw-kill9")
	refused(t, port, "kill")
}

// testForwardGoneAfterExit: an attached run returns when its container
// exits, and by then the container's forwards are gone.
func testForwardGoneAfterExit(t *testing.T, img testImage) {
	port := freeLoopbackPort(t)
	t.Cleanup(func() { berth(t, nil, "rm", "-f", "fw-exit") })
	cmd := exec.Command(berthBin, "run", "--name", "fw-exit", "-i", "-p", fmt.Sprintf("127.0.0.1:%d:80", port),
		img.ref, "sh", "-c", "busybox httpd -p 80 -h /www; read line")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Env = os.Environ()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() //nolint:errcheck // only when the test failed
	get(t, fmt.Sprintf("http://127.0.0.1:%d/index.html", port))
	stdin.Write([]byte("exit\n"))
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run: %v", err)
	}
	refused(t, port, "an attached run")
}

// daemonPID is the machine daemon's pid from its state file.
func daemonPID(t *testing.T) int {
	t.Helper()
	p := filepath.Join(os.Getenv("BERTH_HOME"), "machines", "default", "daemon.json")
	pid := machineproc.PID(p)
	if pid <= 0 {
		t.Fatalf("no machine daemon pid in %s", p)
	}
	return pid
}

func testForwardDaemonKilled(t *testing.T, img testImage) {
	port := freeLoopbackPort(t)
	runHTTPD(t, img, "fw-kill", "-p", fmt.Sprintf("127.0.0.1:%d:80", port))
	url := fmt.Sprintf("http://127.0.0.1:%d/index.html", port)
	get(t, url)
	pid := daemonPID(t)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for syscall.Kill(pid, 0) == nil {
		time.Sleep(10 * time.Millisecond)
	}
	berthOK(t, "ps") // starts the machine again
	// Within a second of the daemon's restart the forward works again.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var last error
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) == indexHTML {
				return
			}
			err = fmt.Errorf("got %q", b)
		}
		last = err
		time.Sleep(20 * time.Millisecond)
	}
	logs, _ := os.ReadFile(filepath.Join(os.Getenv("BERTH_HOME"), "machines", "default", "daemon.log"))
	t.Fatalf("forward not restored within a second of the daemon's restart: %v\n%s\ndaemon.log:\n%s", last, berth(t, nil, "ps", "-a"), logs)
}

// berthIn runs berth in dir.
func berthIn(t *testing.T, dir string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, berthBin, args...)
	cmd.Dir = dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("berth %s: %v", strings.Join(args, " "), err)
	}
	return r
}

func testForwardRelativeVolume(t *testing.T, img testImage) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "site"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "site", "hello"), []byte("from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("site", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{"./site", "./link", "."} {
		t.Run(src, func(t *testing.T) {
			file := "/data/hello"
			if src == "." {
				file = "/data/site/hello"
			}
			r := berthIn(t, dir, "run", "--rm", "-v", src+":/data", img.ref, "busybox", "cat", file)
			if r.code != 0 || r.stdout != "from the host\n" {
				t.Fatalf("-v %s:/data:\n%s", src, r)
			}
		})
	}
	// The container writes through to the host folder.
	berthIn(t, dir, "run", "--rm", "-v", "./site:/data", img.ref, "sh", "-c", "echo back > /data/out")
	if b, err := os.ReadFile(filepath.Join(dir, "site", "out")); err != nil || string(b) != "back\n" {
		t.Fatalf("written in the container: %q %v", b, err)
	}
}

func testForwardMissingSource(t *testing.T, img testImage) {
	dir := t.TempDir()
	// -v creates a missing source directory, as docker does.
	r := berthIn(t, dir, "run", "--rm", "-v", "./made:/data", img.ref, "busybox", "ls", "-d", "/data")
	if r.code != 0 {
		t.Fatalf("-v with a missing source:\n%s", r)
	}
	if st, err := os.Stat(filepath.Join(dir, "made")); err != nil || !st.IsDir() {
		t.Fatalf("-v did not create the source dir: %v", err)
	}
	// --mount refuses it with docker's message.
	r = berthIn(t, dir, "run", "--rm", "--mount", "type=bind,source=./nope,target=/data", img.ref, "true")
	want := fmt.Sprintf("invalid mount config for type \"bind\": bind source path does not exist: %s", filepath.Join(dir, "nope"))
	if r.code != 125 || !strings.Contains(r.stderr, want) {
		t.Fatalf("--mount with a missing source: want exit 125 and %q:\n%s", want, r)
	}
}
