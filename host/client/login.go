package client

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/berth-dev/berth/host/internal/registryauth"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// loginOptions are the flags of `berth login`.
type loginOptions struct {
	server, username, password string
	passwordStdin              bool
}

func (c *cli) newLoginCommand() *cobra.Command {
	var o loginOptions
	cmd := &cobra.Command{
		Use:   "login [OPTIONS] [SERVER]",
		Short: "Authenticate to a registry",
		Long: "Authenticate to a registry.\nDefaults to Docker Hub if no server is specified. Credentials are stored\n" +
			"where docker keeps them (~/.docker/config.json or its credential helper),\nso berth and docker share logins.",
		Args:                  requiresMaxArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.server = args[0]
			}
			return c.runLogin(cmd.Context(), cmd.InOrStdin(), o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.username, "username", "u", "", "Username")
	f.StringVarP(&o.password, "password", "p", "", "Password or Personal Access Token (PAT)")
	f.BoolVar(&o.passwordStdin, "password-stdin", false, "Take the Password or Personal Access Token (PAT) from stdin")
	return cmd
}

func (c *cli) newLogoutCommand() *cobra.Command {
	return &cobra.Command{
		Use:                   "logout [SERVER]",
		Short:                 "Log out from a registry",
		Args:                  requiresMaxArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			server := ""
			if len(args) == 1 {
				server = args[0]
			}
			key := registryauth.ServerKey(server)
			fmt.Fprintf(c.out, "Removing login credentials for %s\n", key)
			return registryauth.Erase(key)
		},
	}
}

// runLogin checks the credentials against the registry, then stores them.
func (c *cli) runLogin(ctx context.Context, stdin io.Reader, o loginOptions) error {
	if o.password != "" {
		fmt.Fprintln(c.errOut, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
		if o.passwordStdin {
			return fmt.Errorf("--password and --password-stdin are mutually exclusive")
		}
	}
	if o.passwordStdin {
		if o.username == "" {
			return fmt.Errorf("must provide --username with --password-stdin")
		}
		b, err := io.ReadAll(stdin)
		if err != nil {
			return fmt.Errorf("read the password from stdin: %w", err)
		}
		o.password = strings.TrimRight(string(b), "\r\n")
	}
	key := registryauth.ServerKey(o.server)
	if err := c.promptCredentials(stdin, key, &o); err != nil {
		return err
	}
	a, err := c.agent(ctx)
	if err != nil {
		return err
	}
	auth := &agentv1.RegistryAuth{Username: o.username, Password: o.password}
	if _, err := a.Images.Login(ctx, &agentv1.LoginRequest{Server: registryauth.RegistryHost(key), Auth: auth}); err != nil {
		return fromAgent(err)
	}
	where, err := registryauth.Store(key, o.username, o.password)
	if err != nil {
		return err
	}
	if where != "" {
		fmt.Fprintf(c.errOut, "WARNING! Your password will be stored unencrypted in %s.\n"+
			"Configure a credential helper to remove this warning. See\n"+
			"https://docs.docker.com/go/credential-store/\n\n", where)
	}
	fmt.Fprintln(c.out, "Login Succeeded")
	return nil
}

// promptCredentials asks on the terminal for what the flags did not give.
func (c *cli) promptCredentials(stdin io.Reader, key string, o *loginOptions) error {
	if o.username != "" && o.password != "" {
		return nil
	}
	f, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return fmt.Errorf("cannot perform an interactive login from a non TTY device; use --username and --password-stdin")
	}
	r := bufio.NewReader(f)
	if o.username == "" {
		fmt.Fprintf(c.out, "Username: ")
		line, err := r.ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("read the username: %w", err)
		}
		o.username = strings.TrimSpace(line)
		if o.username == "" {
			return fmt.Errorf("username is required to log in to %s", key)
		}
	}
	if o.password == "" {
		fmt.Fprintf(c.out, "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(c.out)
		if err != nil {
			return fmt.Errorf("read the password: %w", err)
		}
		o.password = string(b)
		if o.password == "" {
			return fmt.Errorf("password is required to log in to %s", key)
		}
	}
	return nil
}
