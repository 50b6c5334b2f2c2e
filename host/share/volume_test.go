package share

import (
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

func TestParseVolume(t *testing.T) {
	tests := []struct {
		goos, spec string
		want       Volume
	}{
		{Linux, "/data", Volume{Target: "/data"}},
		{Linux, "vol:/data", Volume{Source: "vol", Target: "/data"}},
		{Linux, "vol:/data:ro", Volume{Source: "vol", Target: "/data", Mode: "ro"}},
		{Linux, "/srv:/data", Volume{Source: "/srv", Target: "/data", Bind: true}},
		{Linux, "./site:/usr/share/nginx/html:ro,z", Volume{Source: "./site", Target: "/usr/share/nginx/html", Mode: "ro,z", Bind: true}},
		{Linux, ".:/app", Volume{Source: ".", Target: "/app", Bind: true}},
		{Linux, "~/x:/x:rshared", Volume{Source: "~/x", Target: "/x", Mode: "rshared", Bind: true}},
		{Linux, "src:/app", Volume{Source: "src", Target: "/app"}}, // a volume named src, as in docker
		{Darwin, "/Users/me/p:/p:cached", Volume{Source: "/Users/me/p", Target: "/p", Mode: "cached", Bind: true}},
		{Windows, `C:\src:/app:ro`, Volume{Source: `C:\src`, Target: "/app", Mode: "ro", Bind: true}},
		{Windows, `c:/src:/app`, Volume{Source: `c:/src`, Target: "/app", Bind: true}},
		{Windows, `D:\:/d`, Volume{Source: `D:\`, Target: "/d", Bind: true}},
		{Windows, `.\src:/app`, Volume{Source: `.\src`, Target: "/app", Bind: true}},
		{Windows, `\\server\share:/s`, Volume{Source: `\\server\share`, Target: "/s", Bind: true}},
		{Windows, `/c/src:/app`, Volume{Source: `/c/src`, Target: "/app", Bind: true}},
		{Windows, `cache:/cache`, Volume{Source: "cache", Target: "/cache"}},
		{Windows, `/data`, Volume{Target: "/data"}},
	}
	for _, tt := range tests {
		t.Run(tt.goos+"/"+tt.spec, func(t *testing.T) {
			got, err := ParseVolume(tt.goos, tt.spec)
			if err != nil {
				t.Fatalf("ParseVolume(%s, %q): %v", tt.goos, tt.spec, err)
			}
			if got != tt.want {
				t.Fatalf("ParseVolume(%s, %q) = %+v, want %+v", tt.goos, tt.spec, got, tt.want)
			}
			if got.String() != tt.spec {
				t.Fatalf("String() = %q, want the spec back %q", got.String(), tt.spec)
			}
		})
	}
}

func TestParseVolumeErrors(t *testing.T) {
	tests := []struct {
		goos, spec, want string
	}{
		{Linux, "", "empty spec"},
		{Linux, "a:b:c:d", "too many colons"},
		{Linux, "/a::/b", "empty section between colons"},
		{Linux, ":/data", "empty section between colons"},
		{Linux, "/srv:", "empty section between colons"},
		{Linux, "/srv:data", "invalid mount path: 'data' mount path must be absolute"},
		{Linux, "/srv:/", "'/' cannot be the destination"},
		{Linux, "/srv:/data:rx", "invalid mode: rx"},
		{Linux, "/srv:/data:ro,rw", "invalid mode: ro,rw"},
		{Linux, "/srv:/data:z,Z", "invalid mode: z,Z"},
		{Linux, "a:/data", `"a" includes invalid characters for a local volume name`},
		{Linux, "my vol:/data", "includes invalid characters"},
		{Linux, `C:\src:/app`, `'\src' mount path must be absolute`}, // drive letters are Windows only
		{Windows, `C:\src:app`, "mount path must be absolute"},
		{Windows, `C:\src:C:\app`, "'C' mount path must be absolute"},
	}
	for _, tt := range tests {
		t.Run(tt.goos+"/"+tt.spec, func(t *testing.T) {
			_, err := ParseVolume(tt.goos, tt.spec)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseVolume(%s, %q) = %v, want an error containing %q", tt.goos, tt.spec, err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "invalid volume specification: '"+tt.spec+"'") || !errdefs.IsInvalidArgument(err) {
				t.Fatalf("ParseVolume(%s, %q) error %q: want docker's form and InvalidArgument", tt.goos, tt.spec, err)
			}
		})
	}
}

func TestTranslateVolume(t *testing.T) {
	win := Resolver{OS: Windows, WorkDir: `C:\Users\me\proj`, HomeDir: `C:\Users\me`}
	mac := Resolver{OS: Darwin, WorkDir: "/Users/me/proj", HomeDir: "/Users/me"}
	tests := []struct {
		r          Resolver
		spec, want string
		err        string
	}{
		{win, `C:\src:/app:ro`, "/mnt/host/c/src:/app:ro", ""},
		{win, `.\site:/usr/share/nginx/html`, "/mnt/host/c/Users/me/proj/site:/usr/share/nginx/html", ""},
		{win, `data:/data`, "data:/data", ""},
		{win, `/data`, "/data", ""},
		{win, `\\srv\x:/x`, "", "UNC"},
		{mac, `./site:/site:ro`, "/Users/me/proj/site:/site:ro", ""},
		{mac, `/tmp/x:/x`, "/private/tmp/x:/x", ""},
		{mac, `/opt/x:/x`, "", "--share /opt/x"},
		{mac, `/opt/x:x`, "", "must be absolute"},
	}
	for _, tt := range tests {
		t.Run(tt.r.OS+"/"+tt.spec, func(t *testing.T) {
			v, err := tt.r.TranslateVolume(tt.spec)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("TranslateVolume(%q) = %v, %v; want an error containing %q", tt.spec, v, err, tt.err)
				}
				return
			}
			if err != nil || v.String() != tt.want {
				t.Fatalf("TranslateVolume(%q) = %q, %v; want %q", tt.spec, v.String(), err, tt.want)
			}
		})
	}
}
