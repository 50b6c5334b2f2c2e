// Package boottest boots the VM image that berth-vmimage builds under
// qemu (TCG, no KVM needed) and checks from the host that the agent
// answers over the serial multiplexer. Its tests skip, saying why, when
// qemu, apt or dpkg-deb are missing.
package boottest
