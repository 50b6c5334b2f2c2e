// Package vm runs berth end to end on the qemu driver, as a user would on
// a Linux laptop: its tests build the berth binary, boot the VM image
// named by BERTH_TEST_VMIMAGE (berth-vmimage build; the image embeds
// berth-agent) and run berth commands as processes against a machine in a
// fresh BERTH_HOME. Without that variable or without qemu they skip,
// saying why. Everything stays on this host: the container image is built
// in the test and loaded with `berth load`, ports are on 127.0.0.1.
package vm
