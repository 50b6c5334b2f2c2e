//go:build linux

// Command benchpull measures pull+unpack through berth's image store
// against fetching the same compressed blobs over HTTP and extracting them
// with tar -xzf, in the same run, and reports a fresh berth-agent's idle RSS.
package main

import (
	"archive/tar"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	bolt "go.etcd.io/bbolt"

	"github.com/berth-dev/berth/guest/image"
)

func main() {
	layers := flag.Int("layers", 5, "image layers")
	mb := flag.Int("mb", 24, "uncompressed MiB per layer (a third random, the rest compressible)")
	rounds := flag.Int("rounds", 3, "runs per path (the median is shown)")
	flag.Parse()
	if err := run(*layers, *mb, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "benchpull:", err)
		os.Exit(1)
	}
}

func run(nlayers, mb, rounds int) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("run as root: unpacking keeps file owners")
	}
	work, err := os.MkdirTemp("", "benchpull-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	fmt.Printf("building a %d-layer image of %d MiB...\n", nlayers, nlayers*mb)
	img, err := buildImage(nlayers, mb)
	if err != nil {
		return err
	}
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	ref := host + "/bench/image:1"
	r, _ := name.ParseReference(ref)
	if err := remote.Write(r, img); err != nil {
		return fmt.Errorf("push: %w", err)
	}
	var compressed int64
	ls, _ := img.Layers()
	for _, l := range ls {
		n, _ := l.Size()
		compressed += n
	}
	fmt.Printf("image: %d layers, %.1f MiB compressed\n", len(ls), float64(compressed)/(1<<20))

	var berth, base []time.Duration
	for i := 0; i < rounds; i++ {
		d, err := berthPull(work, ref)
		if err != nil {
			return err
		}
		berth = append(berth, d)
		d, err = baseline(work, srv.URL, ls)
		if err != nil {
			return err
		}
		base = append(base, d)
		fmt.Printf("round %d: berth pull+unpack %v, fetch+tar -xzf %v\n", i+1, berth[i].Round(time.Millisecond), base[i].Round(time.Millisecond))
	}
	mb1, mb2 := median(berth), median(base)
	fmt.Printf("median: berth %v, baseline %v, ratio %.2fx (goal <= 1.25x)\n", mb1.Round(time.Millisecond), mb2.Round(time.Millisecond), float64(mb1)/float64(mb2))
	rss, err := agentRSS(work)
	if err != nil {
		return err
	}
	fmt.Printf("berth-agent idle RSS: %.1f MiB\n", float64(rss)/1024)
	return nil
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// buildImage makes layers of many files: random (incompressible) and text
// (compressible) ones.
func buildImage(nlayers, mb int) (v1.Image, error) {
	rng := rand.New(rand.NewSource(1))
	words := strings.Fields("the quick brown fox jumps over a lazy dog while berth pulls layers from a registry and unpacks them into overlay lower dirs")
	var ls []v1.Layer
	for i := 0; i < nlayers; i++ {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		total := int64(mb) << 20
		for j := 0; int64(buf.Len()) < total; j++ {
			size := 64<<10 + rng.Intn(1<<20)
			data := make([]byte, size)
			if j%3 == 0 {
				rng.Read(data)
			} else {
				var b strings.Builder
				for b.Len() < size {
					b.WriteString(words[rng.Intn(len(words))])
					b.WriteByte(' ')
				}
				copy(data, b.String())
			}
			hdr := &tar.Header{Name: fmt.Sprintf("layer%d/dir%d/file%d", i, j%8, j), Mode: 0o644, Size: int64(size), Typeflag: tar.TypeReg, ModTime: time.Unix(1700000000, 0)}
			if err := tw.WriteHeader(hdr); err != nil {
				return nil, err
			}
			tw.Write(data)
		}
		tw.Close()
		b := buf.Bytes()
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
	}
	return mutate.AppendLayers(empty.Image, ls...)
}

// berthPull pulls ref into a fresh store and returns the time taken.
func berthPull(work, ref string) (time.Duration, error) {
	dir, err := os.MkdirTemp(work, "berth-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	db, err := bolt.Open(filepath.Join(dir, "metadata.db"), 0o600, nil)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	ctx := context.Background()
	s, err := image.Open(ctx, dir, db)
	if err != nil {
		return 0, err
	}
	syncFS()
	start := time.Now()
	if _, err := s.Pull(ctx, ref); err != nil {
		return 0, fmt.Errorf("berth pull: %w", err)
	}
	return time.Since(start), nil
}

// baseline fetches each compressed layer blob over HTTP to a file and
// extracts it with tar -xzf into its own directory.
func baseline(work, url string, ls []v1.Layer) (time.Duration, error) {
	dir, err := os.MkdirTemp(work, "tar-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	syncFS()
	start := time.Now()
	for i, l := range ls {
		d, err := l.Digest()
		if err != nil {
			return 0, err
		}
		blob := filepath.Join(dir, fmt.Sprintf("%d.tar.gz", i))
		if err := fetch(url+"/v2/bench/image/blobs/"+d.String(), blob); err != nil {
			return 0, err
		}
		out := filepath.Join(dir, fmt.Sprintf("l%d", i))
		if err := os.Mkdir(out, 0o755); err != nil {
			return 0, err
		}
		if b, err := exec.Command("tar", "-xzf", blob, "-C", out).CombinedOutput(); err != nil {
			return 0, fmt.Errorf("tar -xzf: %v: %s", err, b)
		}
	}
	return time.Since(start), nil
}

func fetch(url, path string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncFS flushes earlier runs' writes so they do not bill the next run.
func syncFS() { exec.Command("sync").Run() }

// agentRSS builds and starts berth-agent, waits for its socket and reads
// its resident set size in KiB.
func agentRSS(work string) (int64, error) {
	bin := filepath.Join(work, "berth-agent")
	if b, err := exec.Command("go", "build", "-o", bin, "./cmd/berth-agent").CombinedOutput(); err != nil {
		return 0, fmt.Errorf("build berth-agent: %v: %s", err, b)
	}
	sock := filepath.Join(work, "agent.sock")
	cmd := exec.Command(bin, "--socket", sock, "--data-dir", filepath.Join(work, "agent-data"), "--log-level", "error")
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	for i := 0; i < 200; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	time.Sleep(time.Second) // let start-up work settle
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return kb, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", cmd.Process.Pid)
}
