package fakeagent

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/containerd/ttrpc"
	"google.golang.org/protobuf/types/known/emptypb"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
	"github.com/berth-dev/berth/proto/stream"
)

func call(t *testing.T, sock, method string, resp any) error {
	t.Helper()
	var c net.Conn
	var err error
	for range 200 {
		if c, err = net.Dial("unix", sock); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if err := stream.Write(c, stream.Header{Kind: stream.KindTTRPC}); err != nil {
		t.Fatal(err)
	}
	cl := ttrpc.NewClient(c)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return cl.Call(ctx, "berth.agent.v1.System", method, &emptypb.Empty{}, resp)
}

func TestServe(t *testing.T) {
	dir := t.TempDir()
	o := Options{DataDir: filepath.Join(dir, "data"), Socket: filepath.Join(dir, "a.sock"), Name: "m", Insecure: []string{"r"}}
	done := make(chan error, 1)
	go func() { done <- Serve(context.Background(), o) }()
	var v agentv1.VersionResponse
	if err := call(t, o.Socket, "Version", &v); err != nil || v.Version != Version {
		t.Fatalf("Version = %v, %v", v.Version, err)
	}
	var info agentv1.InfoResponse
	if err := call(t, o.Socket, "Info", &info); err != nil || info.Name != "m" || len(info.InsecureRegistries) != 1 {
		t.Fatalf("Info = %+v, %v", &info, err)
	}
	if err := call(t, o.Socket, "Shutdown", &emptypb.Empty{}); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve = %v after Shutdown", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after Shutdown")
	}
}
