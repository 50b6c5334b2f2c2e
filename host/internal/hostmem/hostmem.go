// Package hostmem tells how much physical memory the host has, for the
// checks and defaults that keep a VM's memory within it (the machine
// config, the vz and hcs drivers).
package hostmem
