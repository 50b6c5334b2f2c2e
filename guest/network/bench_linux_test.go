package network

import (
	"context"
	"testing"
)

// BenchmarkAttachDetach measures what a container's start and stop wait for
// on the default bridge: Attach (veth pair created straight into the
// namespace, address, lo, default route, endpoint persisted) and Detach
// (endpoint released; the kernel's deletion of the veth runs in the
// background and is waited for outside the timer).
func BenchmarkAttachDetach(b *testing.B) {
	e := newTestEnv(b)
	m := e.open(b)
	ns := newNS(b)
	ctx := context.Background()
	id := containerID(1)
	b.ResetTimer()
	for range b.N {
		if _, err := m.Attach(ctx, NameBridge, id, ns, AttachOptions{Name: "bench"}); err != nil {
			b.Fatal(err)
		}
		if err := m.Detach(ctx, NameBridge, id); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		m.bg.Wait()
		b.StartTimer()
	}
}

// BenchmarkAttach measures Attach alone, each time into a fresh namespace
// (made before the timer starts), as on a container's start path.
func BenchmarkAttach(b *testing.B) {
	e := newTestEnv(b)
	e.opts.DefaultSubnet = "10.251.0.0/16" // room for many containers
	m := e.open(b)
	ctx := context.Background()
	nss := make([]string, b.N)
	for i := range nss {
		nss[i] = newNS(b)
	}
	b.ResetTimer()
	for i := range b.N {
		if _, err := m.Attach(ctx, NameBridge, containerID(i), nss[i], AttachOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
