// Package e2e holds end-to-end tests of the machine commands: they build
// berth and berth-agent, and run `berth machine ...`, `berth version` and
// `berth info` as processes against a machine on the native driver.
package e2e
