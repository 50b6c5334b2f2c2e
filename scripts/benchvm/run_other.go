//go:build !linux

package main

import (
	"context"
	"errors"
)

func run(context.Context, options) error {
	return errors.New("runs on Linux only (qemu driver, /proc)")
}
