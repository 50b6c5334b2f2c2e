package client

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/containerd/errdefs"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/berth-dev/berth/host/machine"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

func (c *cli) newCreateCommand() *cobra.Command {
	o := newContainerOptions()
	cmd := &cobra.Command{
		Use:                   "create [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short:                 "Create a new container",
		Args:                  requiresMinArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.image, o.args = args[0], args[1:]
			id, err := c.createContainer(cmd.Context(), cmd, o)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.out, id)
			return nil
		},
	}
	o.addFlags(cmd.Flags())
	return cmd
}

// usageError is a bad command line found after flag parsing, reported as
// docker does ("berth: <what>.\nSee 'berth run --help'.") with status 125.
func usageError(cmd *cobra.Command, err error) error {
	return withExitCode(125, fmt.Errorf("%s: %v.\nSee '%s --help'", cmd.Root().Name(), err, cmd.CommandPath()))
}

// createContainer checks the flags, pulls the image as --pull says, and
// creates the container. It returns the container id. Every failure exits
// with status 125, as docker's.
func (c *cli) createContainer(ctx context.Context, cmd *cobra.Command, o *containerOptions) (string, error) {
	req, err := c.prepareCreate(cmd, o)
	if err != nil {
		return "", err
	}
	a, err := c.agent(ctx)
	if err != nil {
		return "", withExitCode(125, err)
	}
	return c.create(ctx, a, o, req)
}

// prepareCreate checks the flags and builds the create request, before
// anything is asked of the machine.
func (c *cli) prepareCreate(cmd *cobra.Command, o *containerOptions) (*agentv1.CreateContainerRequest, error) {
	if o.resolver == nil {
		res, err := o.bindResolver()
		if err != nil {
			return nil, withExitCode(125, err)
		}
		res.Machine = c.machine
		if res.Machine == machine.DefaultName {
			res.Machine = ""
		}
		c.withMachineShares(&res)
		o.resolver = &res
	}
	bodies, err := o.toConfig(cmd.Flags())
	if err != nil {
		return nil, usageError(cmd, err)
	}
	if _, err := parseImageRef(o.image); err != nil {
		return nil, withExitCode(125, err)
	}
	req, err := createRequest(o, bodies)
	if err != nil {
		return nil, withExitCode(125, err)
	}
	return req, nil
}

// create sends req, pulling the image as --pull says. Like docker's CLI it
// asks for the container first and pulls only when the agent reports the
// image missing ("Unable to find image 'busybox:latest' locally"), then
// asks again: one round trip when the image is there, as it mostly is.
func (c *cli) create(ctx context.Context, a *agentConn, o *containerOptions, req *agentv1.CreateContainerRequest) (string, error) {
	if o.pull == pullAlways {
		if err := c.pullQuietly(ctx, a, o.image, o.platform); err != nil {
			return "", withExitCode(125, err)
		}
	}
	resp, err := a.Containers.Create(ctx, req)
	if err != nil && o.pull == pullMissing {
		missing, ierr := c.imageMissing(ctx, a, o.image, fromAgent(err))
		if ierr != nil {
			return "", withExitCode(125, ierr)
		}
		if missing {
			fmt.Fprintf(c.errOut, "Unable to find image '%s' locally\n", displayRef(o.image))
			if err := c.pullQuietly(ctx, a, o.image, o.platform); err != nil {
				return "", withExitCode(125, err)
			}
			resp, err = a.Containers.Create(ctx, req)
		}
	}
	if err != nil {
		return "", withExitCode(125, fromAgent(err))
	}
	for _, w := range resp.Warnings {
		fmt.Fprintf(c.errOut, "WARNING: %s\n", w)
	}
	return resp.Id, nil
}

// imageMissing says whether a create that failed with createErr did so
// because image is not in the store. A not-found error may also be about a
// network or volume, so the store is asked.
func (c *cli) imageMissing(ctx context.Context, a *agentConn, image string, createErr error) (bool, error) {
	if !errdefs.IsNotFound(createErr) {
		return false, nil
	}
	_, err := a.Images.Inspect(ctx, &agentv1.InspectImageRequest{Ref: image})
	if err == nil {
		return false, nil
	}
	if err = fromAgent(err); !errdefs.IsNotFound(err) {
		return false, err
	}
	return true, nil
}

func createRequest(o *containerOptions, b *createBodies) (*agentv1.CreateContainerRequest, error) {
	cfg, err := json.Marshal(b.Config)
	if err != nil {
		return nil, fmt.Errorf("encoding the container config: %w", err)
	}
	hc, err := json.Marshal(b.HostConfig)
	if err != nil {
		return nil, fmt.Errorf("encoding the host config: %w", err)
	}
	nc, err := json.Marshal(b.NetworkingConfig)
	if err != nil {
		return nil, fmt.Errorf("encoding the networking config: %w", err)
	}
	return &agentv1.CreateContainerRequest{
		Name: o.name, Config: cfg, HostConfig: hc, NetworkingConfig: nc, Platform: o.platform,
	}, nil
}

// pullQuietly pulls image drawing docker's progress on stderr.
func (c *cli) pullQuietly(ctx context.Context, a *agentConn, image, platform string) error {
	ref, err := parseImageRef(image)
	if err != nil {
		return err
	}
	st, err := a.Images.Pull(ctx, &agentv1.PullRequest{Ref: image, Platform: platform, Auth: c.registryAuth(ctx, ref)})
	if err != nil {
		return pullError(ctx, err)
	}
	if _, err := drawPull(st, newProgressPrinter(c.errOut)); err != nil {
		return pullError(ctx, err)
	}
	return nil
}

// displayRef is docker's familiar form of an image reference with the
// default tag added: "busybox" -> "busybox:latest".
func displayRef(s string) string {
	return familiarRef(s)
}

// changedFlag reports whether the user set the flag named name.
func changedFlag(f *pflag.FlagSet, name string) bool {
	fl := f.Lookup(name)
	return fl != nil && fl.Changed
}
