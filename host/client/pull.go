package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// pullOptions are the flags of `berth pull`.
type pullOptions struct {
	ref      string
	platform string
	quiet    bool
}

func (c *cli) newPullCommand() *cobra.Command {
	var o pullOptions
	cmd := &cobra.Command{
		Use:                   "pull [OPTIONS] NAME[:TAG|@DIGEST]",
		Short:                 "Download an image from a registry",
		Args:                  requiresExactArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.ref = args[0]
			return c.runPull(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.platform, "platform", "", "Set platform if server is multi-platform capable")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Suppress verbose output")
	// Accepted for scripts written for docker; berth does not sign images.
	f.Bool("disable-content-trust", true, "Skip image verification")
	return cmd
}

// runPull pulls one image through the agent, drawing docker's progress.
func (c *cli) runPull(ctx context.Context, o pullOptions) error {
	ref, err := parseImageRef(o.ref)
	if err != nil {
		return err
	}
	if t, ok := ref.(name.Tag); ok && !o.quiet && !strings.HasSuffix(o.ref, ":"+t.TagStr()) {
		fmt.Fprintf(c.out, "Using default tag: %s\n", name.DefaultTag)
	}
	auth := c.registryAuth(ctx, ref)
	a, err := c.agent(ctx)
	if err != nil {
		return err
	}
	st, err := a.Images.Pull(ctx, &agentv1.PullRequest{Ref: o.ref, Platform: o.platform, Auth: auth})
	if err != nil {
		return pullError(ctx, err)
	}
	var p *progressPrinter
	if !o.quiet {
		p = newProgressPrinter(c.out)
	}
	done, err := drawPull(st, p)
	if err != nil {
		return pullError(ctx, err)
	}
	full := done.GetRef()
	if full == "" {
		full = fullRefName(ref)
	}
	fmt.Fprintln(c.out, full)
	return nil
}

// drawPull reads the agent's progress until the final message and returns
// it. p is nil with -q.
func drawPull(st agentv1.TTRPCImages_PullClient, p *progressPrinter) (*agentv1.PullProgress, error) {
	sawDigest := false
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the pull ended before the image was complete; try again")
		}
		if err != nil {
			return nil, err
		}
		if m.Done {
			if p != nil {
				if !sawDigest && m.Digest != "" {
					p.Print(progressLine{Status: "Digest: " + m.Digest})
				}
				if m.Status != "" {
					p.Print(progressLine{Status: m.Status})
				}
			}
			return m, nil
		}
		if m.Id == "" && strings.HasPrefix(m.Status, "Digest:") {
			sawDigest = true
		}
		if p != nil {
			p.Print(progressLine{ID: m.Id, Status: m.Status, Current: m.Current, Total: m.Total})
		}
	}
}

// pullError is the error to report for a failed pull: nothing more than
// exit status 130 when the user interrupted it.
func pullError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return withExitCode(130, nil)
	}
	return fromAgent(err)
}

// registryAuth resolves the credentials for ref's registry from the
// standard docker config (~/.docker/config.json and its credential
// helpers). It returns nil for anonymous access.
func (c *cli) registryAuth(ctx context.Context, ref name.Reference) *agentv1.RegistryAuth {
	a, err := authn.DefaultKeychain.ResolveContext(ctx, ref.Context())
	if err == nil && a != authn.Anonymous {
		var cfg *authn.AuthConfig
		cfg, err = authn.Authorization(ctx, a)
		if err == nil && cfg != nil {
			r := &agentv1.RegistryAuth{
				Username:      cfg.Username,
				Password:      cfg.Password,
				IdentityToken: cfg.IdentityToken,
				RegistryToken: cfg.RegistryToken,
			}
			if r.Username == "" && r.Password == "" && r.IdentityToken == "" && r.RegistryToken == "" {
				return nil
			}
			return r
		}
	}
	if err != nil {
		fmt.Fprintf(c.errOut, "WARNING: cannot read the credentials for %s, pulling anonymously: %v\n", ref.Context().RegistryStr(), err)
	}
	return nil
}

// fullRefName is docker's full form of a reference:
// "docker.io/library/busybox:latest".
func fullRefName(ref name.Reference) string {
	sep := ":"
	if _, ok := ref.(name.Digest); ok {
		sep = "@"
	}
	return fullRepoName(ref.Context()) + sep + ref.Identifier()
}

// fullRepoName is docker's full form of a repository:
// "docker.io/library/busybox".
func fullRepoName(repo name.Repository) string {
	reg := repo.RegistryStr()
	if reg == name.DefaultRegistry {
		reg = "docker.io"
	}
	return reg + "/" + repo.RepositoryStr()
}
