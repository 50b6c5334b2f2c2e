package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// loadOptions are the flags of `berth load`.
type loadOptions struct {
	input string
	quiet bool
}

func (c *cli) newLoadCommand() *cobra.Command {
	var o loadOptions
	cmd := &cobra.Command{
		Use:                   "load [OPTIONS]",
		Short:                 "Load an image from a tar archive or STDIN",
		Args:                  requiresNoArgs,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runLoad(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.input, "input", "i", "", "Read from tar archive file, instead of STDIN")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Suppress the load output")
	return cmd
}

// runLoad sends a docker-archive or OCI-layout tarball to the agent over a
// data stream and prints the images it held.
func (c *cli) runLoad(ctx context.Context, o loadOptions) error {
	in := c.in
	if o.input != "" {
		f, err := os.Open(o.input)
		if err != nil {
			return fmt.Errorf("cannot read the archive: %w", err)
		}
		defer f.Close()
		in = f
	} else if isTerminal(c.in) {
		return errors.New("requested load from stdin, but stdin is empty")
	}
	a, err := c.agent(ctx)
	if err != nil {
		return err
	}
	conn, id, err := a.openStream(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	go func() {
		// The agent reads until EOF; closing the stream is the EOF. When
		// the agent gives up early the write fails and the copy stops.
		_, _ = io.Copy(conn, in)
		conn.Close()
	}()
	resp, err := a.Images.Load(ctx, &agentv1.LoadImageRequest{StreamId: id})
	if err != nil {
		if ctx.Err() != nil {
			return withExitCode(130, nil)
		}
		return fromAgent(err)
	}
	for _, l := range resp.Loaded {
		fmt.Fprintln(c.out, l)
	}
	return nil
}

// isTerminal reports whether f is a terminal (stdin or stdout).
func isTerminal(f any) bool {
	fd, ok := f.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(fd.Fd()))
}
