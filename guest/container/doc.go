// Package container is berth's container runtime: it turns an image's OCI
// config plus a docker-like create configuration into an OCI runtime spec
// (GenerateSpec, with Docker's defaults), and runs containers with crun
// through github.com/containerd/go-runc (Runtime, Container, Exec).
//
// Wiring: the program's main must call PrepareHost first (on hosts with
// hybrid cgroups it re-executes the program in a mount namespace where
// crun accepts the layout) and must dispatch `PROGRAM shim -` to RunShim,
// because every container gets a shim: the same binary re-executed (one
// is kept started in advance to hide its start-up time).
//
// The shim is its own session leader and the container's subreaper. It
// holds the container's stdio (pipes, or the pty master crun sends on a
// console socket), writes the json-file log, runs `crun run` in the
// foreground (one crun process creates, starts, waits for and deletes the
// container), records the exit atomically in exit.json and serves attach,
// exec, resize, kill, pause and wait on a unix socket in the container's
// state directory. The agent can be killed and restarted: New re-adopts
// running containers by scanning the state directories, and applies
// restart policies to those that exited meanwhile.
//
// Layout under the runtime's root directory, one directory per container:
//
//	<root>/<id>/meta.json       the Config the container was created with
//	<root>/<id>/state.json      the agent's record (started, finished, restarts;
//	                            written from the first start on; fsynced only
//	                            when it must survive a crash of the machine:
//	                            manual stops, starts under a restart policy)
//	<root>/<id>/config.json     the generated OCI spec (the bundle)
//	<root>/<id>/rootfs          overlay mount (or a plain dir with no lowers)
//	<root>/<id>/upper, work     the container's writable layer
//	<root>/<id>/hosts, hostname, resolv.conf
//	<root>/<id>/<id>-json.log   the json-file log (+ .1, .2 ... rotated)
//	<root>/<id>/exit.json       the shim's record of the last exit
//	<root>/<id>/shim.sock       the shim's control socket while it runs
//	<root>/.trash/              removed containers' dirs, their rootfs unmounted
//	                            and files deleted in the background (HoldTrash)
//
// A Container's State is kept in memory (each start, pause, resume and
// exit of its run passes through the runtime), so listing containers does
// not ask every shim.
package container
