// Package dockerinit is the tiny init docker's --init puts in front of a
// container's command (docker ships tini for it): bind-mounted at
// /sbin/docker-init and run as the container's PID 1 with "-- CMD ARGS...",
// it starts the command in a process group of its own (in the terminal's
// foreground when there is one), forwards every signal it gets to that
// group, reaps every process that ends up its child (zombies), and exits
// with the command's status: its exit code, or 128+N when signal N killed
// it.
//
// berth-agent is a static binary, so it is its own init: it runs Main when
// started under the name docker-init (see IsInvocation).
package dockerinit
