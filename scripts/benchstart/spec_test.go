package main

import (
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// berthLike is a spec shaped like the one berth writes for a container.
func berthLike() *specs.Spec {
	return &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{Terminal: true, ConsoleSize: &specs.Box{Height: 24, Width: 80}, Args: []string{"/bin/sh"}, Cwd: "/"},
		Root:    &specs.Root{Path: "/data/containers/abc/rootfs"},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/etc/hosts", Type: "bind", Source: "/data/containers/abc/hosts", Options: []string{"rbind"}},
			{Destination: "/etc/resolv.conf", Type: "bind", Source: "/data/containers/abc/resolv.conf", Options: []string{"rbind"}},
			{Destination: "/data", Type: "bind", Source: "/data/containers/abcdef/x"}, // a sibling, not inside
			{Destination: "/srv", Type: "bind", Source: "/srv"},
		},
		Hooks: &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/true"}}},
		Linux: &specs.Linux{
			CgroupsPath: "/berth/abc",
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace, Path: "/run/berth/netns/abc"}, {Type: specs.MountNamespace},
			},
			Seccomp:     &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActAllow}}},
			MaskedPaths: []string{"/proc/kcore"},
		},
	}
}

func TestBareSpec(t *testing.T) {
	in := berthLike()
	orig := berthLike()
	b, err := bareSpec(in, "/data/containers/abc", "/tmp/bundle", "/berth/bare", []string{"true"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, orig) {
		t.Fatal("bareSpec modified its input")
	}
	s := b.spec
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"root", s.Root.Path, "rootfs"},
		{"args", s.Process.Args, []string{"true"}},
		{"no terminal", s.Process.Terminal, false},
		{"no console size", s.Process.ConsoleSize == nil, true},
		{"hooks dropped", s.Hooks == nil, true},
		{"cgroups path", s.Linux.CgroupsPath, "/berth/bare"},
		{"hosts copied", s.Mounts[1].Source, "/tmp/bundle/hosts"},
		{"resolv.conf copied", s.Mounts[2].Source, "/tmp/bundle/resolv.conf"},
		{"sibling dir untouched", s.Mounts[3].Source, "/data/containers/abcdef/x"},
		{"host bind untouched", s.Mounts[4].Source, "/srv"},
		{"proc untouched", s.Mounts[0].Source, "proc"},
		{"files", b.files, []string{"hosts", "resolv.conf"}},
		{"netns is new", s.Linux.Namespaces[1], specs.LinuxNamespace{Type: specs.NetworkNamespace}},
		{"seccomp kept", s.Linux.Seccomp, orig.Linux.Seccomp},
		{"masked paths kept", s.Linux.MaskedPaths, orig.Linux.MaskedPaths},
		{"cwd kept", s.Process.Cwd, "/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Errorf("got %#v, want %#v", tc.got, tc.want)
			}
		})
	}
	notes := strings.Join(b.notes, "; ")
	for _, want := range []string{"hosts, resolv.conf", "network namespace instead of joining /run/berth/netns/abc", "hooks"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes %q lack %q", notes, want)
		}
	}
}

func TestBareSpecRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   *specs.Spec
	}{
		{"nil", nil},
		{"no process", &specs.Spec{Root: &specs.Root{}, Linux: &specs.Linux{}}},
		{"no root", &specs.Spec{Process: &specs.Process{}, Linux: &specs.Linux{}}},
		{"not linux", &specs.Spec{Process: &specs.Process{}, Root: &specs.Root{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := bareSpec(tc.in, "/c", "/b", "/x", []string{"true"}); err == nil {
				t.Fatal("bareSpec accepted a spec it cannot use")
			}
		})
	}
}

func TestWithin(t *testing.T) {
	for _, tc := range []struct {
		dir, path, rel string
		ok             bool
	}{
		{"/a/b", "/a/b/hosts", "hosts", true},
		{"/a/b/", "/a/b/x/y", "x/y", true},
		{"/a/b", "/a/b", "", false},
		{"/a/b", "/a/bc/hosts", "", false},
		{"/a/b", "/a/b/../c", "", false},
		{"/a/b", "hosts", "", false},
		{"/a/b", "", "", false},
		{"", "/a", "", false},
	} {
		t.Run(tc.dir+"|"+tc.path, func(t *testing.T) {
			rel, ok := within(tc.dir, tc.path)
			if rel != tc.rel || ok != tc.ok {
				t.Errorf("within(%q, %q) = %q, %v, want %q, %v", tc.dir, tc.path, rel, ok, tc.rel, tc.ok)
			}
		})
	}
}
