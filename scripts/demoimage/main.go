// Command demoimage writes a small demo image, built locally from the host's
// static busybox (Debian's busybox-static) with no network access, as a
// docker-archive tarball that `berth load` (and `docker load`) read. The image
// serves /www over HTTP on port 80 with busybox httpd.
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func main() {
	out := flag.String("o", "demo-image.tar", "output tarball")
	tag := flag.String("t", "berth-demo/httpd:latest", "image name")
	busybox := flag.String("busybox", "/bin/busybox", "a statically linked busybox")
	flag.Parse()
	if err := run(*out, *tag, *busybox); err != nil {
		fmt.Fprintln(os.Stderr, "demoimage:", err)
		os.Exit(1)
	}
}

func run(out, tag, busybox string) error {
	ref, err := name.NewTag(tag)
	if err != nil {
		return err
	}
	bb, err := os.ReadFile(busybox)
	if err != nil {
		return fmt.Errorf("%w (install Debian's busybox-static)", err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(rootfs(bb))), nil
	})
	if err != nil {
		return err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return err
	}
	// Start from the config mutate made (it holds the layer's diff id) and
	// fill in what the image runs.
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.Architecture = runtime.GOARCH // the busybox is the host's
	cf.OS = "linux"
	cf.Created = v1.Time{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	cf.Config = v1.Config{
		Env:          []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		Cmd:          []string{"httpd", "-f", "-v", "-p", "80", "-h", "/www"},
		ExposedPorts: map[string]struct{}{"80/tcp": {}},
		WorkingDir:   "/",
		Labels:       map[string]string{"org.opencontainers.image.title": "berth demo httpd"},
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return err
	}
	return tarball.WriteToFile(out, ref, img)
}

// rootfs is one layer: busybox with its applet links, /etc/passwd and group,
// and a default page in /www.
func rootfs(bb []byte) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	dir := func(p string) {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: p, Mode: 0o755, ModTime: mtime})
	}
	file := func(p string, mode int64, data []byte) {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: p, Mode: mode, Size: int64(len(data)), ModTime: mtime})
		tw.Write(data)
	}
	for _, d := range []string{"bin/", "etc/", "tmp/", "www/", "root/", "var/", "proc/", "sys/", "dev/"} {
		dir(d)
	}
	file("bin/busybox", 0o755, bb)
	for _, applet := range []string{"sh", "ls", "cat", "echo", "httpd", "sleep", "wget", "id", "env", "true", "false", "ps", "mkdir", "rm", "touch", "date", "hostname", "stty", "top", "inotifyd", "nc", "sed", "grep", "head", "tail", "wc", "uname", "kill", "printf", "test", "tr"} {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + applet, Linkname: "busybox", Mode: 0o777, ModTime: mtime})
	}
	file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nwww:x:33:33:www:/www:/bin/false\n"))
	file("etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\nwww:x:33:\n"))
	file("www/index.html", 0o644, []byte("<h1>Hello from berth</h1>\n"))
	tw.Close()
	return buf.Bytes()
}
