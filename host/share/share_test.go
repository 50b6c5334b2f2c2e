package share

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

type translateCase struct {
	src  string
	want string // VM path, or "" when an error is expected
	err  string // substring of the error
}

func runTranslate(t *testing.T, r Resolver, tests []translateCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			got, err := r.Translate(tt.src)
			if tt.err != "" {
				if err == nil {
					t.Fatalf("Translate(%q) = %q, want an error containing %q", tt.src, got, tt.err)
				}
				if !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Translate(%q) error %q, want it to contain %q", tt.src, err, tt.err)
				}
				if !errdefs.IsInvalidArgument(err) {
					t.Fatalf("Translate(%q) error %v is not InvalidArgument", tt.src, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Translate(%q): %v", tt.src, err)
			}
			if got != tt.want {
				t.Fatalf("Translate(%q) = %q, want %q", tt.src, got, tt.want)
			}
		})
	}
}

func TestTranslateDarwin(t *testing.T) {
	r := Resolver{OS: Darwin, WorkDir: "/Users/me/proj", HomeDir: "/Users/me"}
	runTranslate(t, r, []translateCase{
		{src: "/Users/me/proj/site", want: "/Users/me/proj/site"},
		{src: "/Users/me", want: "/Users/me"},
		{src: "/users/me/src", want: "/Users/me/src"}, // APFS ignores case
		{src: "./site", want: "/Users/me/proj/site"},
		{src: "site", want: "/Users/me/proj/site"},
		{src: ".", want: "/Users/me/proj"},
		{src: "..", want: "/Users/me"},
		{src: "./a/../b/./c/", want: "/Users/me/proj/b/c"},
		{src: "~", want: "/Users/me"},
		{src: "~/data", want: "/Users/me/data"},
		{src: "/Volumes/USB/x", want: "/Volumes/USB/x"},
		{src: "/tmp/x", want: "/private/tmp/x"},
		{src: "/tmp", want: "/private/tmp"},
		{src: "/private/tmp/y", want: "/private/tmp/y"},
		{src: "/var/folders/ab/T/z", want: "/private/var/folders/ab/T/z"},
		{src: "/Users/me/../me/x", want: "/Users/me/x"},
		{src: "/opt/data", err: `bind source "/opt/data" is not in a folder shared with the machine (shared: /Users/me, /Volumes, /private/tmp, /private/var/folders); share the folder when creating a machine: berth machine init --share /opt/data`},
		{src: "/Users/other", err: "not in a folder shared"},
		{src: "/Users/meme", err: "not in a folder shared"},
		{src: "../../../opt", err: `"../../../opt" (/opt)`},
		{src: "/var/db", err: "/private/var/db"},
		{src: "~bob/x", err: "~user paths are not supported"},
		{src: "", err: "empty bind source"},
	})
}

func TestTranslateDarwinNamedMachineAndCustomShares(t *testing.T) {
	r := Resolver{OS: Darwin, WorkDir: "/", HomeDir: "/Users/me", Machine: "dev",
		Shares: []Share{{HostPath: "/Users/me/code", VMPath: "/code"}, {HostPath: "/Users/me/code/big", VMPath: "/big"}}}
	runTranslate(t, r, []translateCase{
		{src: "/Users/me/code/x", want: "/code/x"},
		{src: "/Users/me/code/big/y", want: "/big/y"}, // the deepest share wins
		{src: "/Users/me/code", want: "/code"},
		{src: "/Users/me/notes", err: "not in a folder shared with machine dev (shared: /Users/me/code, /Users/me/code/big); share the folder when creating a machine: berth machine init dev --share /Users/me/notes"},
	})
}

func TestTranslateWindows(t *testing.T) {
	r := Resolver{OS: Windows, WorkDir: `C:\Users\me\proj`, HomeDir: `C:\Users\me`}
	runTranslate(t, r, []translateCase{
		{src: `C:\src`, want: "/mnt/host/c/src"},
		{src: `C:/src`, want: "/mnt/host/c/src"},
		{src: `c:\Users\x`, want: "/mnt/host/c/Users/x"},
		{src: `D:\data\set 1`, want: "/mnt/host/d/data/set 1"},
		{src: `C:\`, want: "/mnt/host/c"},
		{src: `C:`, want: "/mnt/host/c"},
		{src: `C:\a\..\b\.\c\`, want: "/mnt/host/c/b/c"},
		{src: `C:\..\..`, want: "/mnt/host/c"},
		{src: `.\site`, want: "/mnt/host/c/Users/me/proj/site"},
		{src: `./site`, want: "/mnt/host/c/Users/me/proj/site"},
		{src: `site`, want: "/mnt/host/c/Users/me/proj/site"},
		{src: `.`, want: "/mnt/host/c/Users/me/proj"},
		{src: `..\other`, want: "/mnt/host/c/Users/me/other"},
		{src: `~`, want: "/mnt/host/c/Users/me"},
		{src: `~\data`, want: "/mnt/host/c/Users/me/data"},
		{src: `~/data`, want: "/mnt/host/c/Users/me/data"},
		{src: `\src`, want: "/mnt/host/c/src"},
		{src: `\\?\C:\long\path`, want: "/mnt/host/c/long/path"},
		{src: `/c/Users/me`, want: "/mnt/host/c/Users/me"},
		{src: `/d`, want: "/mnt/host/d"},
		{src: `/mnt/host/c/src`, want: "/mnt/host/c/src"},
		{src: `\\server\share\x`, err: "network (UNC) or device path"},
		{src: `//server/share/x`, err: "network (UNC) or device path"},
		{src: `\\.\pipe\docker_engine`, err: "network (UNC) or device path"},
		{src: `\\?\UNC\server\share`, err: "only drive paths"},
		{src: `C:src`, err: `relative to the current directory of drive C:`},
		{src: `/var/run/docker.sock`, err: "is not a Windows path: use a drive path such as C:\\src"},
	})
}

func TestTranslateWindowsCustomShares(t *testing.T) {
	r := Resolver{OS: Windows, WorkDir: `D:\work`, HomeDir: `C:\Users\me`,
		Shares: []Share{{HostPath: `C:\Users\me`, VMPath: "/home/me"}}}
	runTranslate(t, r, []translateCase{
		{src: `c:\users\ME\x`, want: "/home/me/x"}, // NTFS ignores case
		{src: `~\y`, want: "/home/me/y"},
		{src: `/home/me/z`, want: "/home/me/z"},
		{src: `.`, err: `"." (D:\work) is not in a folder shared with the machine (shared: C:\Users\me); share the folder when creating a machine: berth machine init --share D:\work`},
		{src: `/c/x`, err: "not in a folder shared"},
	})
}

func TestTranslateLinux(t *testing.T) {
	r := Resolver{OS: Linux, WorkDir: "/home/me/proj", HomeDir: "/home/me"}
	runTranslate(t, r, []translateCase{
		{src: "/etc/hosts", want: "/etc/hosts"},
		{src: "/", want: "/"},
		{src: "./src", want: "/home/me/proj/src"},
		{src: "src", want: "/home/me/proj/src"},
		{src: ".", want: "/home/me/proj"},
		{src: "~/x", want: "/home/me/x"},
		{src: "/tmp/x", want: "/tmp/x"}, // no macOS aliases
		{src: `C:\src`, want: `/home/me/proj/C:\src`},
	})
	vm := Resolver{OS: Linux, WorkDir: "/home/me/proj", HomeDir: "/home/me", Shares: []Share{{HostPath: "/home/me", VMPath: "/home/me"}}}
	runTranslate(t, vm, []translateCase{
		{src: "/home/me/a", want: "/home/me/a"},
		{src: "/Home/me/a", err: "not in a folder shared"}, // Linux is case sensitive
		{src: "/srv", err: "(shared: /home/me)"},
	})
}

func TestTranslateSymlinks(t *testing.T) {
	links := map[string]string{
		"/Users/me/proj/data":   "/opt/data",        // points outside the shares
		"/Users/me/proj/vol":    "/Volumes/ext/vol", // points into another share
		"/Users/me/proj/tmplnk": "/tmp/t",           // via macOS's /tmp alias
		"/Users/me/proj":        "/Users/me/proj",   // exists, no link
		"/Users/me":             "/Users/me",
		"/":                     "/",
		"/opt":                  "/opt",
	}
	eval := func(p string) (string, error) {
		if r, ok := links[p]; ok {
			return r, nil
		}
		if p == "/Users/me/proj/broken" {
			return "", errors.New("permission denied")
		}
		return "", &fs.PathError{Op: "lstat", Path: p, Err: fs.ErrNotExist}
	}
	r := Resolver{OS: Darwin, WorkDir: "/Users/me/proj", HomeDir: "/Users/me", EvalSymlinks: eval}
	runTranslate(t, r, []translateCase{
		{src: "./vol/x", want: "/Volumes/ext/vol/x"},
		{src: "./tmplnk", want: "/private/tmp/t"},
		{src: "./new/dir", want: "/Users/me/proj/new/dir"}, // not created yet
		{src: "./data", err: `"./data" (/Users/me/proj/data, a link to /opt/data) is not in a folder shared`},
		{src: "./data/sub", err: "a link to /opt/data/sub"},
	})
	if _, err := r.Translate("./broken"); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("Translate with a failing EvalSymlinks: %v, want its error", err)
	}
	win := Resolver{OS: Windows, WorkDir: `C:\proj`, HomeDir: `C:\Users\me`, EvalSymlinks: func(p string) (string, error) {
		if rest, ok := strings.CutPrefix(p, `C:\proj\link`); ok {
			return `D:\real` + rest, nil
		}
		return p, nil
	}}
	runTranslate(t, win, []translateCase{{src: `link\f`, want: "/mnt/host/d/real/f"}})
}

func TestTranslateBadDirs(t *testing.T) {
	r := Resolver{OS: Darwin, WorkDir: "rel", HomeDir: ""}
	runTranslate(t, r, []translateCase{
		{src: "./x", err: `working directory "rel" is not an absolute path`},
		{src: "~/x", err: `home directory "" is not an absolute path`},
	})
}

func TestDefaultShares(t *testing.T) {
	if got := DefaultShares(Darwin, "/Users/me"); len(got) != 4 || got[0].HostPath != "/Users/me" {
		t.Fatalf("DefaultShares(darwin) = %v", got)
	}
	if got := DefaultShares(Windows, `C:\Users\me`); len(got) != 1 || got[0] != (Share{HostPath: AllDrives, VMPath: "/mnt/host"}) {
		t.Fatalf("DefaultShares(windows) = %v", got)
	}
	if got := DefaultShares(Linux, "/home/me"); len(got) != 1 || got[0] != (Share{HostPath: "/", VMPath: "/"}) {
		t.Fatalf("DefaultShares(linux) = %v", got)
	}
}
