// Package container is berth's container runtime: it turns an image's OCI
// config plus a docker-like create configuration into an OCI runtime spec
// (GenerateSpec, with Docker's defaults), and runs containers with crun
// through github.com/containerd/go-runc (Runtime).
//
// Every container has a small shim process (the agent binary re-executed as
// "berth-agent shim", see RunShim) that is its own session leader and the
// container's subreaper. The shim holds the container's stdio, writes the
// json-file log, records the exit status atomically in the container's state
// directory and serves attach, exec, resize and wait over a unix socket in
// that directory. The agent can therefore be killed and restarted: a new
// Runtime re-adopts running containers by scanning the state directories.
//
// Layout under the runtime's root directory, one directory per container:
//
//	<root>/<id>/meta.json       the Config the container was created with
//	<root>/<id>/config.json     the generated OCI spec (the bundle)
//	<root>/<id>/rootfs          overlay mount (or plain dir with no lowers)
//	<root>/<id>/upper, work     the container's writable layer
//	<root>/<id>/hosts, hostname, resolv.conf
//	<root>/<id>/<id>-json.log   the json-file log (+ .1, .2 ... rotated)
//	<root>/<id>/status.json     runtime status (started, finished, exit code)
//	<root>/<id>/shim.sock       the shim's control socket while it runs
package container
