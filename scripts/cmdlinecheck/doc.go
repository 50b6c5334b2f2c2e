// Package cmdlinecheck holds a test that ties the host's VM drivers to the
// guest: the kernel command lines the vz and hcs drivers build must parse
// with guest/init's ParseCmdline into the shares, disk, network, clock and
// entropy the driver meant. It lives under scripts/ because host/ and
// guest/ never import each other.
package cmdlinecheck
