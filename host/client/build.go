package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// buildOptions are the flags of `berth build`.
type buildOptions struct {
	context   string
	tags      []string
	file      string
	buildArgs []string
	labels    []string
	target    string
	network   string
	platform  string
	iidfile   string
	noCache   bool
	pull      bool
	quiet     bool
}

func (c *cli) newBuildCommand() *cobra.Command {
	var o buildOptions
	cmd := &cobra.Command{
		Use:                   "build [OPTIONS] PATH | -",
		Short:                 "Build an image from a Dockerfile",
		Args:                  requiresExactArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.context = args[0]
			return c.runBuild(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.tags, "tag", "t", nil, `Name and optionally a tag in the "name:tag" format`)
	f.StringVarP(&o.file, "file", "f", "", `Name of the Dockerfile (Default is "PATH/Dockerfile")`)
	f.StringArrayVar(&o.buildArgs, "build-arg", nil, "Set build-time variables")
	f.StringArrayVar(&o.labels, "label", nil, "Set metadata for an image")
	f.StringVar(&o.target, "target", "", "Set the target build stage to build")
	f.StringVar(&o.network, "network", "default", "Set the networking mode for the RUN instructions during build")
	f.StringVar(&o.platform, "platform", "", "Set platform if server is multi-platform capable")
	f.BoolVar(&o.noCache, "no-cache", false, "Do not use cache when building the image")
	f.BoolVar(&o.pull, "pull", false, "Always attempt to pull a newer version of the image")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Suppress the build output and print image ID on success")
	f.StringVar(&o.iidfile, "iidfile", "", "Write the image ID to the file")
	// Accepted for scripts written for docker: intermediate containers are
	// always removed.
	f.Bool("rm", true, "Remove intermediate containers after a successful build")
	f.Bool("force-rm", false, "Always remove intermediate containers")
	return cmd
}

// runBuild sends the context to the agent, prints the builder's output and
// tags the result (the agent does, from the request).
func (c *cli) runBuild(ctx context.Context, o buildOptions) error {
	req, err := buildRequest(o)
	if err != nil {
		return err
	}
	bc, err := c.buildContext(o)
	if err != nil {
		return err
	}
	defer bc.Close()
	req.DockerfileContent, req.Dockerfile = bc.dockerfile, bc.dockerfileName
	if !o.quiet && bc.size >= 0 {
		fmt.Fprintf(c.out, "Sending build context to the engine  %s\n", humanBytes(bc.size))
	}
	if o.iidfile != "" {
		// docker removes a stale file first, so a failed build leaves none
		if err := os.Remove(o.iidfile); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing image ID file: %w", err)
		}
	}
	a, err := c.agent(ctx)
	if err != nil {
		return err
	}
	conn, streamID, err := a.openStream(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	go func() {
		_, _ = io.Copy(conn, bc)
		conn.Close()
	}()
	req.ContextStreamId = streamID
	st, err := a.Images.Build(ctx, req)
	if err != nil {
		return buildError(ctx, c.errOut, err, false)
	}
	id, err := c.drawBuild(ctx, st, o.quiet)
	if err != nil || o.iidfile == "" {
		return err
	}
	if err := os.WriteFile(o.iidfile, []byte(id), 0o666); err != nil {
		return fmt.Errorf("cannot write the image ID file: %w", err)
	}
	return nil
}

// drawBuild prints the builder's output (kept back with -q, and shown on
// stderr if the build fails) and the id with -q, and returns the id.
func (c *cli) drawBuild(ctx context.Context, st agentv1.TTRPCImages_BuildClient, quiet bool) (string, error) {
	var held bytes.Buffer
	out := c.out
	if quiet {
		out = &held
	}
	started := false
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return "", errors.New("the build ended before the image was made; try again")
		}
		if err != nil {
			if quiet {
				_, _ = io.Copy(c.errOut, &held)
			}
			return "", buildError(ctx, c.errOut, err, started)
		}
		if m.Stream != "" {
			started = true
			fmt.Fprint(out, m.Stream)
		}
		if m.ImageId != "" {
			if quiet {
				fmt.Fprintln(c.out, m.ImageId)
			}
			return m.ImageId, nil
		}
	}
}

// runFailed matches the builder's message for a failed RUN and its code.
// Compiled on first use: package-level regexps cost every command.
var runFailed = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`returned a non-zero code: (\d+)$`)
})

// buildError reports a failed build as docker does: once the build has
// started, the builder's message alone on stderr (written here), exiting
// with the failed command's code (1 for other failures); before, as a
// daemon error.
func buildError(ctx context.Context, stderr io.Writer, err error, started bool) error {
	if ctx.Err() != nil {
		return withExitCode(130, nil)
	}
	if !started {
		return fromAgent(err)
	}
	msg := cleanDaemonMessage(errgrpc.ToNative(err).Error())
	code := 1
	if m := runFailed().FindStringSubmatch(msg); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil && n > 0 && n < 256 {
			code = n
		}
	}
	fmt.Fprintln(stderr, msg)
	return withExitCode(code, nil)
}

// buildRequest turns the flags into the request (without the context).
func buildRequest(o buildOptions) (*agentv1.BuildRequest, error) {
	req := &agentv1.BuildRequest{
		Tags: o.tags, Target: o.target, NoCache: o.noCache, Pull: o.pull,
		Network: o.network, Platform: o.platform,
		BuildArgs: map[string]string{}, Labels: map[string]string{},
	}
	for _, a := range o.buildArgs {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			// docker takes the value from the environment, or leaves it unset
			if ev, set := os.LookupEnv(k); set {
				v, ok = ev, true
			}
		}
		if k == "" {
			return nil, fmt.Errorf("invalid argument %q for \"--build-arg\" flag: the name is empty", a)
		}
		if ok {
			req.BuildArgs[k] = v
		}
	}
	for _, l := range o.labels {
		k, v, _ := strings.Cut(l, "=")
		req.Labels[k] = v
	}
	return req, nil
}

// humanBytes is docker's size for the context line ("2.048kB").
func humanBytes(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	f := float64(n)
	i := 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	return strconv.FormatFloat(f, 'g', 4, 64) + units[i]
}
