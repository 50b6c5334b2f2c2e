package container

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// testRootfs writes a rootfs with only /etc/passwd and /etc/group.
func testRootfs(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\n# comment\napp:x:1000:1000:app:/home/app:/bin/sh\nweb:x:33:33::/var/www:/bin/false\n",
		"etc/group":  "root:x:0:\napp:x:1000:\nextra:x:2000:app,web\nwww-data:x:33:\naudio:x:29:web\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestResolveUser(t *testing.T) {
	root := testRootfs(t)
	tests := []struct {
		spec     string
		groupAdd []string
		want     ExecUser
		wantErr  string
	}{
		{spec: "", want: ExecUser{UID: 0, GID: 0, Home: "/root"}},
		{spec: "root", want: ExecUser{Home: "/root"}},
		{spec: "app", want: ExecUser{UID: 1000, GID: 1000, AdditionalGids: []uint32{2000}, Home: "/home/app"}},
		{spec: "1000", want: ExecUser{UID: 1000, GID: 1000, AdditionalGids: []uint32{2000}, Home: "/home/app"}},
		{spec: "web", want: ExecUser{UID: 33, GID: 33, AdditionalGids: []uint32{2000, 29}, Home: "/var/www"}},
		{spec: "app:extra", want: ExecUser{UID: 1000, GID: 2000, Home: "/home/app"}},
		{spec: "1000:2000", want: ExecUser{UID: 1000, GID: 2000, Home: "/home/app"}},
		{spec: "4242", want: ExecUser{UID: 4242, GID: 0, Home: "/"}},
		{spec: "4242:4343", want: ExecUser{UID: 4242, GID: 4343, Home: "/"}},
		{spec: "app", groupAdd: []string{"audio", "777"}, want: ExecUser{UID: 1000, GID: 1000, AdditionalGids: []uint32{2000, 29, 777}, Home: "/home/app"}},
		{spec: "nosuch", wantErr: "unable to find user nosuch: no matching entries in passwd file"},
		{spec: "app:nogroup", wantErr: "unable to find group nogroup: no matching entries in group file"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := ResolveUser(root, tt.spec, tt.groupAdd)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ResolveUser(%q) = %+v, %v; want %+v", tt.spec, got, err, tt.want)
			}
		})
	}
}

func TestResolveUserNoPasswdAndSymlinkEscape(t *testing.T) {
	root := t.TempDir()
	if u, err := ResolveUser(root, "1234:5", nil); err != nil || u.UID != 1234 || u.GID != 5 {
		t.Errorf("numeric user without passwd = %+v, %v", u, err)
	}
	if _, err := ResolveUser(root, "app", nil); err == nil {
		t.Errorf("named user without passwd resolved")
	}
	// An absolute symlink is resolved inside the rootfs, not on the host.
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.MkdirAll(filepath.Join(root, "real"), 0o755)
	os.WriteFile(filepath.Join(root, "real", "passwd"), []byte("inside:x:7:7::/in:/bin/sh\n"), 0o644)
	os.Symlink("/real/passwd", filepath.Join(root, "etc", "passwd"))
	if u, err := ResolveUser(root, "inside", nil); err != nil || u.UID != 7 || u.Home != "/in" {
		t.Errorf("user via absolute symlink = %+v, %v; want uid 7 read inside the rootfs", u, err)
	}
}
