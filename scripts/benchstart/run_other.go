//go:build !linux

package main

import (
	"context"
	"errors"
	"io"
)

func run(context.Context, options, io.Writer) error {
	return errors.New("runs on Linux only: it drives berth's native machine, crun and dockerd as root")
}
