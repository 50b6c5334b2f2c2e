package container

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWithSocketPathLongDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 60), strings.Repeat("e", 64))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "shim.sock")
	if len(path) <= maxSockPath {
		t.Fatalf("test path too short to matter: %d bytes", len(path))
	}
	var ln net.Listener
	if err := withSocketPath(path, func(p string) (err error) {
		ln, err = net.Listen("unix", p)
		return err
	}); err != nil {
		t.Fatalf("listen on a %d-byte path: %v", len(path), err)
	}
	defer ln.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("socket not at its real path: %v", err)
	}
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Write([]byte("ok"))
			c.Close()
		}
	}()
	var c net.Conn
	if err := withSocketPath(path, func(p string) (err error) {
		c, err = net.Dial("unix", p)
		return err
	}); err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	buf := make([]byte, 2)
	if _, err := c.Read(buf); err != nil || string(buf) != "ok" {
		t.Fatalf("read %q, %v", buf, err)
	}
}
