package client

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/containerd/errdefs"
	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

type inspectOptions struct {
	format string
	typ    string
	size   bool
}

func (c *cli) newInspectCommand() *cobra.Command {
	var o inspectOptions
	cmd := &cobra.Command{
		Use:                   "inspect [OPTIONS] NAME|ID [NAME|ID...]",
		Short:                 "Return low-level information on Docker objects",
		Args:                  requiresMinArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runInspect(cmd.Context(), o, args)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.format, "format", "f", "", "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template")
	f.StringVar(&o.typ, "type", "", "Only inspect objects of the given type")
	f.BoolVarP(&o.size, "size", "s", false, "Display total file sizes if the type is container")
	return cmd
}

// inspectTypes are the kinds `inspect` looks at, in docker's order.
var inspectTypes = []string{"container", "image", "network", "volume"}

// runInspect prints docker's inspect JSON for containers, images, networks
// and volumes: each name is looked up as each kind in turn (or only as
// --type), as docker does.
func (c *cli) runInspect(ctx context.Context, o inspectOptions, refs []string) error {
	types := inspectTypes
	if o.typ != "" {
		found := false
		for _, t := range inspectTypes {
			found = found || t == o.typ
		}
		if !found {
			return fmt.Errorf("%q is not a valid value for --type", o.typ)
		}
		types = []string{o.typ}
	}
	a, err := c.agent(ctx)
	if err != nil {
		return err
	}
	return inspectObjects(c.out, o.format, refs, func(ref string) (any, error) {
		for _, t := range types {
			obj, err := c.inspectAs(ctx, a, t, ref, o.size)
			if err == nil {
				return obj, nil
			}
			if !errdefs.IsNotFound(err) {
				return nil, err
			}
		}
		what := "object"
		if o.typ != "" {
			what = o.typ
		}
		return nil, &kindError{msg: fmt.Sprintf("No such %s: %s", what, ref), kind: errdefs.ErrNotFound}
	})
}

// inspectAs returns the inspect document of ref as kind typ.
func (c *cli) inspectAs(ctx context.Context, a *agentConn, typ, ref string, size bool) (any, error) {
	switch typ {
	case "container":
		r, err := a.Containers.Inspect(ctx, &agentv1.InspectContainerRequest{Id: ref, Size: size})
		if err != nil {
			return nil, fromAgent(err)
		}
		return json.RawMessage(c.withForwardedInspect(ctx, a, r.Json)), nil
	case "image":
		r, err := a.Images.Inspect(ctx, &agentv1.InspectImageRequest{Ref: ref})
		if err != nil {
			return nil, fromAgent(err)
		}
		return newImageInspect(r)
	case "network":
		r, err := a.Networks.Inspect(ctx, &agentv1.InspectNetworkRequest{Id: ref})
		if err != nil {
			return nil, fromAgent(err)
		}
		return json.RawMessage(r.Json), nil
	default:
		v, err := a.Volumes.Inspect(ctx, &agentv1.InspectVolumeRequest{Name: ref})
		if err != nil {
			return nil, fromAgent(err)
		}
		return newVolumeJSON(v), nil
	}
}
