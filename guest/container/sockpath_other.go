//go:build !linux

package container

func withSocketPath(path string, fn func(string) error) error { return fn(path) }
