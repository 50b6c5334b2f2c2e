package client

import (
	"bytes"
	"strings"
	"testing"
)

func TestVersionFormat(t *testing.T) {
	client := clientVersion{Version: "v1", APIVersion: "1.0", GoVersion: "go1.26", Os: "linux", Arch: "amd64", Machine: "default"}
	server := &serverVersion{Version: "v1", APIVersion: "1.0", GoVersion: "go1.26", Os: "linux", Arch: "amd64", KernelVersion: "6.1.0"}
	tests := []struct {
		name   string
		format string
		v      versionInfo
		want   string
		exact  bool
	}{
		{name: "client and server", v: versionInfo{Client: client, Server: server}, exact: true, want: `Client:
 Version:           v1
 API version:       1.0
 Go version:        go1.26
 OS/Arch:           linux/amd64
 Machine:           default

Server: berth
 Engine:
  Version:          v1
  API version:      1.0
  Go version:       go1.26
  OS/Arch:          linux/amd64
  Kernel Version:   6.1.0
`},
		{name: "client only", v: versionInfo{Client: client}, exact: true, want: `Client:
 Version:           v1
 API version:       1.0
 Go version:        go1.26
 OS/Arch:           linux/amd64
 Machine:           default
`},
		{name: "template", format: "{{.Server.KernelVersion}}", v: versionInfo{Client: client, Server: server}, want: "6.1.0", exact: true},
		{name: "json", format: "json", v: versionInfo{Client: client, Server: server}, want: `"Server":{"Version":"v1","ApiVersion":"1.0"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := versionFormat(tt.format)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := tmpl.Execute(&b, tt.v); err != nil {
				t.Fatal(err)
			}
			if tt.exact && b.String() != tt.want || !tt.exact && !strings.Contains(b.String(), tt.want) {
				t.Errorf("got:\n%s\nwant:\n%s", b.String(), tt.want)
			}
		})
	}
}
