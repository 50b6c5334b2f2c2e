package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/containerd/errdefs"
	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

type cpOptions struct {
	archive    bool
	followLink bool
	quiet      bool
}

func (c *cli) newCpCommand() *cobra.Command {
	var o cpOptions
	cmd := &cobra.Command{
		Use:   "cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
		Short: "Copy files/folders between a container and the local filesystem",
		Long: "Copy files/folders between a container and the local filesystem\n\n" +
			"Use '-' as the source to read a tar archive from stdin\nand extract it to a directory destination in a container.\n" +
			"Use '-' as the destination to stream a tar archive of a\ncontainer source to stdout.",
		Args:                  requiresExactArgs(2),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runCp(cmd.Context(), o, args[0], args[1])
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.archive, "archive", "a", false, "Archive mode (copy all uid/gid information)")
	f.BoolVarP(&o.followLink, "follow-link", "L", false, "Always follow symbol link in SRC_PATH")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached to STDERR")
	return cmd
}

// splitCpArg splits "CONTAINER:PATH"; a local path (absolute, or starting
// with "." or a drive letter) has no container.
func splitCpArg(arg string) (ctr, p string) {
	if filepath.IsAbs(arg) || strings.HasPrefix(arg, ".") || driveLetter().MatchString(arg) {
		return "", arg
	}
	ctr, p, ok := strings.Cut(arg, ":")
	if !ok {
		return "", arg
	}
	return ctr, p
}

func (c *cli) runCp(ctx context.Context, o cpOptions, src, dst string) error {
	srcCtr, srcPath := splitCpArg(src)
	dstCtr, dstPath := splitCpArg(dst)
	switch {
	case srcCtr != "" && dstCtr != "":
		return errors.New("copying between containers is not supported")
	case srcCtr == "" && dstCtr == "":
		return errors.New("must specify at least one container source")
	case srcPath == "" || dstPath == "":
		return errors.New("filepath can not be empty")
	}
	a, err := c.agent(ctx)
	if err != nil {
		return err
	}
	if srcCtr != "" {
		return c.copyFromContainer(ctx, a, o, srcCtr, srcPath, dstPath)
	}
	return c.copyToContainer(ctx, a, o, srcPath, dstCtr, dstPath)
}

// copyFromContainer follows docker's rules: a file lands in DEST when DEST
// is a directory, else becomes DEST; a directory becomes DEST when DEST
// does not exist, else DEST/<name>; "SRC/." copies the contents.
func (c *cli) copyFromContainer(ctx context.Context, a *agentConn, o cpOptions, ctr, srcPath, dstPath string) error {
	conn, sid, err := a.openStream(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	type result struct {
		st  *agentv1.PathStat
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := a.Containers.CopyFrom(ctx, &agentv1.CopyRequest{Id: ctr, Path: srcPath, StreamId: sid, CopyUidGid: o.archive})
		if err != nil {
			conn.Close()
		}
		done <- result{st, err}
	}()
	if dstPath == "-" {
		_, err = io.Copy(c.out, conn)
		if r := <-done; r.err != nil {
			return containerError(ctr, r.err)
		}
		return err
	}
	target, err := localCopyTarget(srcPath, dstPath)
	if err != nil {
		conn.Close()
		<-done
		return err
	}
	n, err := extractTar(conn, target, o.archive)
	if r := <-done; r.err != nil {
		return containerError(ctr, r.err)
	}
	if err != nil {
		return err
	}
	c.cpDone(o, n, dstPath)
	return nil
}

// localCopyTarget is where the copied resource itself goes locally.
func localCopyTarget(srcPath, dstPath string) (string, error) {
	fi, err := os.Stat(dstPath)
	switch {
	case err == nil && fi.IsDir():
		if strings.HasSuffix(srcPath, "/.") {
			return dstPath, nil
		}
		return filepath.Join(dstPath, path.Base(path.Clean(srcPath))), nil
	case err == nil:
		return dstPath, nil
	case errors.Is(err, os.ErrNotExist):
		if strings.HasSuffix(dstPath, string(filepath.Separator)) || strings.HasSuffix(dstPath, "/") {
			return "", fmt.Errorf("destination directory %q must exist", dstPath)
		}
		if _, perr := os.Stat(filepath.Dir(dstPath)); perr != nil {
			return "", fmt.Errorf("the parent of %q does not exist", dstPath)
		}
		return dstPath, nil
	}
	return "", err
}

// copyToContainer first extracts into DEST as a directory; when DEST is
// not one (missing, or a file) the resource is sent again named after
// DEST into its parent, which is docker's rule.
func (c *cli) copyToContainer(ctx context.Context, a *agentConn, o cpOptions, srcPath, ctr, dstPath string) error {
	if srcPath == "-" {
		return c.sendTar(ctx, a, ctr, dstPath, func(w io.Writer) error { _, err := io.Copy(w, c.in); return err })
	}
	if _, err := os.Lstat(srcPath); err != nil {
		return fmt.Errorf("could not find the file %s in the local filesystem: %w", srcPath, err)
	}
	root := filepath.Base(srcPath)
	if strings.HasSuffix(srcPath, "/.") || strings.HasSuffix(srcPath, string(filepath.Separator)+".") {
		root = ""
	}
	err := c.sendTar(ctx, a, ctr, dstPath, func(w io.Writer) error { return writeTar(w, srcPath, root, o.followLink) })
	if err != nil && !strings.HasSuffix(dstPath, "/") && notADirectory(err) {
		parent, name := path.Dir(dstPath), path.Base(dstPath)
		err = c.sendTar(ctx, a, ctr, parent, func(w io.Writer) error { return writeTar(w, srcPath, name, o.followLink) })
	}
	if err != nil {
		return err
	}
	if fi, serr := os.Stat(srcPath); serr == nil {
		c.cpDone(o, fi.Size(), ctr+":"+dstPath)
	}
	return nil
}

func notADirectory(err error) bool {
	return errdefs.IsNotFound(err) || errdefs.IsInvalidArgument(err) || errdefs.IsFailedPrecondition(err) ||
		strings.Contains(err.Error(), "not a directory")
}

// sendTar streams the tar made by write to CopyTo into dir.
func (c *cli) sendTar(ctx context.Context, a *agentConn, ctr, dir string, write func(io.Writer) error) error {
	conn, sid, err := a.openStream(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	done := make(chan error, 1)
	go func() {
		_, err := a.Containers.CopyTo(ctx, &agentv1.CopyRequest{Id: ctr, Path: dir, StreamId: sid, NoOverwriteDirNonDir: true})
		conn.Close()
		done <- err
	}()
	werr := write(conn)
	if cw, ok := conn.(interface{ CloseWrite() error }); ok && werr == nil {
		werr = cw.CloseWrite()
	}
	if err := <-done; err != nil {
		return containerError(ctr, err)
	}
	if werr != nil && !isClosedErr(werr) {
		return werr
	}
	return nil
}

func (c *cli) cpDone(o cpOptions, n int64, dst string) {
	if _, tty := terminalFd(c.errOut); o.quiet || !tty {
		return
	}
	fmt.Fprintf(c.errOut, "Successfully copied %s to %s\n", units.HumanSize(float64(n)), dst)
}
