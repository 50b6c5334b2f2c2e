//go:build windows

package machine

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"
)

// TestDaemonPipe listens on a machine's pipe, dials it as the CLI does,
// and checks that a half-close reaches the daemon side as EOF while the
// reply still arrives (the CLI's cp and stdin streams need that).
func TestDaemonPipe(t *testing.T) {
	dir := t.TempDir()
	addr := daemonAddress(dir+`\machines\pipetest`, "pipetest")
	if !strings.HasPrefix(addr, pipePrefix) || !strings.HasSuffix(addr, "-pipetest") {
		t.Fatalf("daemonAddress = %q", addr)
	}
	ln, err := listenDaemon(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := listenDaemon(addr); err == nil {
		t.Fatal("a second listener on the same pipe was allowed")
	}
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- "accept: " + err.Error()
			return
		}
		defer c.Close()
		b, _ := io.ReadAll(c)
		c.Write([]byte("pong"))
		got <- string(b)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := dialDaemon(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("ping"))
	cw, ok := c.(interface{ CloseWrite() error })
	if !ok {
		t.Fatalf("%T has no CloseWrite", c)
	}
	if err := cw.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	reply, err := io.ReadAll(c)
	if s := <-got; s != "ping" {
		t.Fatalf("daemon side read %q", s)
	}
	if err != nil || string(reply) != "pong" {
		t.Fatalf("reply %q, %v", reply, err)
	}
}

// TestUserOnlySDDL: the pipe's DACL names the current user and SYSTEM
// and nobody else.
func TestUserOnlySDDL(t *testing.T) {
	sddl, err := userOnlySDDL()
	if err != nil {
		t.Fatal(err)
	}
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	want := "D:P(A;;GA;;;" + tu.User.Sid.String() + ")(A;;GA;;;SY)"
	if sddl != want {
		t.Fatalf("SDDL = %q, want %q", sddl, want)
	}
	if _, err := windows.SecurityDescriptorFromString(sddl); err != nil {
		t.Fatalf("SDDL %q does not parse: %v", sddl, err)
	}
}
