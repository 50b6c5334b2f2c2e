package client

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/berth-dev/berth/host/share"
)

// parseRunFlags parses args as `run` flags and builds the create bodies.
func parseRunFlags(t *testing.T, args ...string) (*createBodies, error) {
	t.Helper()
	o := newContainerOptions()
	o.resolver = &share.Resolver{OS: share.Linux, WorkDir: "/work", HomeDir: "/home/me"}
	f := pflag.NewFlagSet("run", pflag.ContinueOnError)
	o.addFlags(f)
	if err := f.Parse(args); err != nil {
		return nil, err
	}
	rest := f.Args()
	if len(rest) > 0 {
		o.image, o.args = rest[0], rest[1:]
	}
	return o.toConfig(f)
}

// jsonOf renders v the way it travels to the agent, for comparisons.
func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRunFlagsToConfig(t *testing.T) {
	envFile := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(envFile, []byte("# comment\n\nA=1\n  B=two words\nFROM_HOST\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	labelFile := filepath.Join(t.TempDir(), "labels")
	if err := os.WriteFile(labelFile, []byte("team=core\nflag\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FROM_HOST", "yes")
	t.Setenv("ALSO_HOST", "1")
	for _, tc := range []struct {
		name  string
		args  []string
		check func(t *testing.T, b *createBodies)
	}{
		{"ports", []string{"-p", "8080:80", "-p", "127.0.0.1:53:53/udp", "-p", "[::1]:9000:90", "-p", "7000-7001:7000-7001", "-p", "443", "--expose", "3000-3001", "img"}, func(t *testing.T, b *createBodies) {
			want := `{"443/tcp":[{"HostIp":"","HostPort":""}],"53/udp":[{"HostIp":"127.0.0.1","HostPort":"53"}],"7000/tcp":[{"HostIp":"","HostPort":"7000"}],"7001/tcp":[{"HostIp":"","HostPort":"7001"}],"80/tcp":[{"HostIp":"","HostPort":"8080"}],"90/tcp":[{"HostIp":"::1","HostPort":"9000"}]}`
			if got := jsonOf(t, b.HostConfig.PortBindings); got != want {
				t.Errorf("bindings %s\nwant %s", got, want)
			}
			if got := jsonOf(t, b.Config.ExposedPorts); got != `{"3000/tcp":{},"3001/tcp":{},"443/tcp":{},"53/udp":{},"7000/tcp":{},"7001/tcp":{},"80/tcp":{},"90/tcp":{}}` {
				t.Errorf("exposed %s", got)
			}
		}},
		{"long publish syntax", []string{"-p", "published=8080,target=80,protocol=udp", "img"}, func(t *testing.T, b *createBodies) {
			if got := jsonOf(t, b.HostConfig.PortBindings); got != `{"80/udp":[{"HostIp":"","HostPort":"8080"}]}` {
				t.Errorf("bindings %s", got)
			}
		}},
		{"volumes", []string{"-v", "data:/var/lib/data:ro", "-v", "/host/dir:/ctr", "-v", "./rel:/rel", "-v", "/anon", "img"}, func(t *testing.T, b *createBodies) {
			want := []string{"data:/var/lib/data:ro", "/host/dir:/ctr", "/work/rel:/rel"}
			if !reflect.DeepEqual(b.HostConfig.Binds, want) {
				t.Errorf("binds %q, want %q", b.HostConfig.Binds, want)
			}
			if _, ok := b.Config.Volumes["/anon"]; !ok || len(b.Config.Volumes) != 1 {
				t.Errorf("anonymous volumes %v", b.Config.Volumes)
			}
		}},
		{"mounts and tmpfs", []string{"--mount", "type=bind,src=./site,dst=/usr/share/nginx/html,readonly", "--mount", "source=cache,target=/cache,volume-nocopy", "--mount", "type=tmpfs,dst=/scratch,tmpfs-size=64m,tmpfs-mode=1770", "--tmpfs", "/run:rw,size=1m", "img"}, func(t *testing.T, b *createBodies) {
			want := `[{"Type":"bind","Source":"/work/site","Target":"/usr/share/nginx/html","ReadOnly":true},{"Type":"volume","Source":"cache","Target":"/cache","VolumeOptions":{"NoCopy":true}},{"Type":"tmpfs","Target":"/scratch","TmpfsOptions":{"SizeBytes":67108864,"Mode":1016}}]`
			if got := jsonOf(t, b.HostConfig.Mounts); got != want {
				t.Errorf("mounts %s\nwant %s", got, want)
			}
			if b.HostConfig.Tmpfs["/run"] != "rw,size=1m" {
				t.Errorf("tmpfs %v", b.HostConfig.Tmpfs)
			}
		}},
		{"resources", []string{"-m", "512m", "--memory-swap", "-1", "--cpus", "1.5", "--pids-limit", "100", "--shm-size", "64m", "--ulimit", "nofile=1024:2048", "img"}, func(t *testing.T, b *createBodies) {
			r := b.HostConfig.Resources
			if r.Memory != 512<<20 || r.MemorySwap != -1 || r.NanoCPUs != 1_500_000_000 || r.PidsLimit == nil || *r.PidsLimit != 100 {
				t.Errorf("resources %+v", r)
			}
			if b.HostConfig.ShmSize != 64<<20 || len(r.Ulimits) != 1 || r.Ulimits[0].Soft != 1024 || r.Ulimits[0].Hard != 2048 {
				t.Errorf("shm %d ulimits %v", b.HostConfig.ShmSize, r.Ulimits)
			}
		}},
		{"no pids limit unless given", []string{"img"}, func(t *testing.T, b *createBodies) {
			if b.HostConfig.PidsLimit != nil || b.HostConfig.Init != nil || b.Config.StopTimeout != nil || b.Config.Entrypoint != nil {
				t.Errorf("unset flags must stay unset: %+v", b.HostConfig.Resources)
			}
		}},
		{"restart policies", []string{"--restart", "on-failure:3", "img"}, func(t *testing.T, b *createBodies) {
			if b.HostConfig.RestartPolicy.Name != "on-failure" || b.HostConfig.RestartPolicy.MaximumRetryCount != 3 {
				t.Errorf("policy %+v", b.HostConfig.RestartPolicy)
			}
		}},
		{"env and env-file", []string{"--env-file", envFile, "-e", "C=3", "-e", "ALSO_HOST", "-e", "UNSET_HERE", "img"}, func(t *testing.T, b *createBodies) {
			want := []string{"A=1", "B=two words", "FROM_HOST=yes", "C=3", "ALSO_HOST=1"}
			if !reflect.DeepEqual(b.Config.Env, want) {
				t.Errorf("env %q, want %q", b.Config.Env, want)
			}
		}},
		{"labels", []string{"--label-file", labelFile, "-l", "a=b", "-l", "empty", "img"}, func(t *testing.T, b *createBodies) {
			want := map[string]string{"team": "core", "flag": "", "a": "b", "empty": ""}
			if !reflect.DeepEqual(b.Config.Labels, want) {
				t.Errorf("labels %v", b.Config.Labels)
			}
		}},
		{"entrypoint reset", []string{"--entrypoint=", "img", "sh"}, func(t *testing.T, b *createBodies) {
			if !reflect.DeepEqual(b.Config.Entrypoint, []string{""}) || !reflect.DeepEqual(b.Config.Cmd, []string{"sh"}) {
				t.Errorf("entrypoint %q cmd %q", b.Config.Entrypoint, b.Config.Cmd)
			}
		}},
		{"entrypoint", []string{"--entrypoint", "/bin/sh", "img", "-c", "x"}, func(t *testing.T, b *createBodies) {
			if !reflect.DeepEqual(b.Config.Entrypoint, []string{"/bin/sh"}) || !reflect.DeepEqual(b.Config.Cmd, []string{"-c", "x"}) {
				t.Errorf("entrypoint %q cmd %q", b.Config.Entrypoint, b.Config.Cmd)
			}
		}},
		{"interactive tty", []string{"-it", "-w", "/src", "-u", "1000:1000", "-h", "box", "img"}, func(t *testing.T, b *createBodies) {
			c := b.Config
			if !c.Tty || !c.OpenStdin || !c.AttachStdin || !c.StdinOnce || c.WorkingDir != "/src" || c.User != "1000:1000" || c.Hostname != "box" {
				t.Errorf("config %+v", c)
			}
		}},
		{"network", []string{"--net", "app", "--network-alias", "db", "--ip", "10.1.0.5", "--dns", "1.1.1.1", "--add-host", "h:10.0.0.1", "img"}, func(t *testing.T, b *createBodies) {
			ep := b.NetworkingConfig.EndpointsConfig["app"]
			if b.HostConfig.NetworkMode != "app" || ep == nil || !reflect.DeepEqual(ep.Aliases, []string{"db"}) || ep.IPAMConfig.IPv4Address.String() != "10.1.0.5" {
				t.Errorf("network %s, endpoint %+v", b.HostConfig.NetworkMode, ep)
			}
			if len(b.HostConfig.DNS) != 1 || b.HostConfig.DNS[0].String() != "1.1.1.1" || !reflect.DeepEqual(b.HostConfig.ExtraHosts, []string{"h:10.0.0.1"}) {
				t.Errorf("dns %v hosts %v", b.HostConfig.DNS, b.HostConfig.ExtraHosts)
			}
		}},
		{"security and misc", []string{"--read-only", "--privileged", "--init", "--cap-add", "NET_ADMIN", "--cap-drop", "ALL", "--stop-signal", "SIGINT", "--stop-timeout", "3", "--log-driver", "json-file", "--log-opt", "max-size=1m", "-P", "img"}, func(t *testing.T, b *createBodies) {
			hc := b.HostConfig
			if !hc.ReadonlyRootfs || !hc.Privileged || hc.Init == nil || !*hc.Init || !hc.PublishAllPorts {
				t.Errorf("host config %+v", hc)
			}
			if !reflect.DeepEqual(hc.CapAdd, []string{"NET_ADMIN"}) || !reflect.DeepEqual(hc.CapDrop, []string{"ALL"}) || hc.LogConfig.Config["max-size"] != "1m" {
				t.Errorf("caps %v %v log %+v", hc.CapAdd, hc.CapDrop, hc.LogConfig)
			}
			if b.Config.StopSignal != "SIGINT" || b.Config.StopTimeout == nil || *b.Config.StopTimeout != 3 {
				t.Errorf("stop %q %v", b.Config.StopSignal, b.Config.StopTimeout)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := parseRunFlags(t, tc.args...)
			if err != nil {
				t.Fatalf("parse %q: %v", tc.args, err)
			}
			tc.check(t, b)
		})
	}
}

func TestRunFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--restart", "always:3", "img"}, "maximum retry count can only be used with 'on-failure'"},
		{[]string{"--restart", ":3", "img"}, "no policy provided before colon"},
		{[]string{"--restart", "on-failure:x", "img"}, "maximum retry count must be an integer"},
		{[]string{"-p", "8080:80:90:100", "img"}, "invalid"},
		{[]string{"--expose", "abc", "img"}, "invalid range format for --expose"},
		{[]string{"--mount", "type=bind,dst=/x", "img"}, "source is required when specifying bind mount"},
		{[]string{"--mount", "src=x", "img"}, "target is required"},
		{[]string{"--mount", "type=tmpfs,dst=/x,tmpfs-size=lots", "img"}, "invalid value for tmpfs-size: lots"},
		{[]string{"--mount", "type=bind,src=/a,dst=/b,volume-nocopy", "img"}, "cannot mix 'volume-*' options with mount type 'bind'"},
		{[]string{"--tmpfs", "relative", "img"}, "the path must be absolute"},
		{[]string{"-v", "/a:/b:bogus", "img"}, "invalid mode: bogus"},
		{[]string{"--env-file", "/does/not/exist", "img"}, "--env-file: open /does/not/exist"},
		{[]string{"--dns", "not-an-ip", "img"}, "IP address is not correctly formatted"},
		{[]string{"--add-host", "nohost", "img"}, "bad format for add-host"},
		{[]string{"--network-alias", "x", "img"}, "user-defined network"},
		{[]string{"-m", "1g", "--memory-swap", "512m", "img"}, "Minimum memoryswap limit should be larger than memory limit"},
		{[]string{"--log-driver", "none", "--log-opt", "a=b", "img"}, "invalid logging opts for driver none"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := parseRunFlags(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v; want it to say %q", err, tc.want)
			}
		})
	}
}
