package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

func (c *cli) newSaveCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:                   "save [OPTIONS] IMAGE [IMAGE...]",
		Short:                 "Save one or more images to a tar archive (streamed to STDOUT by default)",
		Args:                  requiresMinArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runSave(cmd.Context(), output, args)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "Write to a file, instead of STDOUT")
	return cmd
}

// runSave writes the images as one tarball (docker archive and OCI layout
// at once) to output, or to stdout when output is empty. A file is written
// under a temporary name and renamed at the end, so a failed save leaves
// nothing behind.
func (c *cli) runSave(ctx context.Context, output string, refs []string) error {
	for _, r := range refs {
		if !looksLikeImageID(r) {
			if _, err := parseImageRef(r); err != nil {
				return err
			}
		}
	}
	if output == "" {
		if isTerminal(c.out) {
			return errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect")
		}
		return c.saveTo(ctx, c.out, refs)
	}
	dir := filepath.Dir(output)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("failed to save image: invalid output path: directory %q does not exist", dir)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(output)+".tmp-*")
	if err != nil {
		return fmt.Errorf("failed to save image: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	err = c.saveTo(ctx, tmp, refs)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), output); err != nil {
		return fmt.Errorf("failed to save image: %w", err)
	}
	return nil
}

// saveTo asks the agent for the tarball and copies it from the data stream
// to w.
func (c *cli) saveTo(ctx context.Context, w io.Writer, refs []string) error {
	a, err := c.agent(ctx)
	if err != nil {
		return err
	}
	conn, id, err := a.openStream(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	copied := make(chan error, 1)
	go func() {
		_, err := io.Copy(w, conn)
		copied <- err
	}()
	_, err = a.Images.Save(ctx, &agentv1.SaveImageRequest{Refs: refs, StreamId: id})
	if err != nil {
		conn.Close()
		<-copied
		if ctx.Err() != nil {
			return withExitCode(130, nil)
		}
		if len(refs) == 1 {
			return &daemonError{err: noSuchImage(refs[0], fromAgent(err))}
		}
		return fromAgent(err)
	}
	if err := <-copied; err != nil {
		return fmt.Errorf("failed to save image: %w", err)
	}
	return nil
}
