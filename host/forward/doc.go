// Package forward publishes container ports on the host: it parses docker's
// -p/--publish specs into Bindings, and its Forwarder listens on host
// addresses and carries every accepted TCP connection and every UDP flow to
// the agent over its own forward stream.
//
// # Forward streams
//
// A forward stream is a connection to the agent that starts with a
// proto/stream header of kind KindForward (3) whose id names the target:
//
//	tcp/<container>/<port>
//	udp/<container>/<port>
//
// (and "tcp+fd/<container>/<port>" for connections handed off whole: such a
// stream stays open and carries one client socket after another, each as
// one byte with SCM_RIGHTS; see HandoffFunc and UnixHandoff). <container> is the container's id as the agent reports it (a name or a
// unique id prefix also resolves, but the Forwarder always sends what it was
// given); it never contains "/". <port> is the container port in decimal,
// 1–65535. StreamID builds such an id and ParseStreamID reads one.
//
// After the header a tcp stream carries the connection's bytes in both
// directions. Each side half-closes its write direction when its source
// reaches EOF (CloseWrite), so protocols that signal the end of a request
// with a half-close keep working; the stream ends when both directions have.
// The agent closes a stream whose target cannot be resolved or dialed
// without writing anything.
//
// A udp stream carries one flow (one client address on the host) as
// datagrams, each framed as a 2-byte big-endian length followed by that many
// bytes (0–65535; a zero-length datagram is valid). The host closes the
// stream after the flow has been idle for the Forwarder's UDP idle timeout
// (90 s by default, as docker-proxy); the agent then closes its socket.
//
// # Use
//
// The machine daemon owns one Forwarder per machine and keeps it equal to
// what the running containers publish:
//
//	f := forward.New(forward.StreamDialer(drv.DialAgent))
//	defer f.Close()
//	// at start and on every container start/die/destroy event:
//	want := map[string][]forward.Binding{}
//	for each running container c (Containers.List + Inspect):
//		want[c.ID], err = forward.ContainerBindings(c.Config.ExposedPorts,
//			c.HostConfig.PortBindings, c.HostConfig.PublishAllPorts)
//	err = f.Reconcile(ctx, want)
//
// The CLI parses -p with ParsePortSpecs and fills HostConfig.PortBindings
// with PortMap; it may call Probe before starting a container so that a
// host port in use fails the run with docker's message.
package forward
