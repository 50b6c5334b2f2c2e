package client

import (
	"strings"
	"testing"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

const testConfig = `{"created":"2024-01-02T03:04:05.123456789Z","author":"me","architecture":"arm64","variant":"v8","os":"linux",
"config":{"Env":["PATH=/bin"],"Cmd":["sh"],"Labels":{"a":"b"},"ExposedPorts":{"80/tcp":{}},"WorkingDir":"/w","StopSignal":"SIGTERM"},
"rootfs":{"type":"layers","diff_ids":["sha256:l1","sha256:l2"]}}`

func inspectFake() *fakeImages {
	resp := &agentv1.InspectImageResponse{
		Image: &agentv1.Image{
			Id:          busyboxID,
			RepoTags:    []string{"docker.io/library/busybox:latest"},
			RepoDigests: []string{"docker.io/library/busybox@" + busyboxDigest},
			Size:        4261550,
		},
		Config: []byte(testConfig),
		Layers: []string{"sha256:l1", "sha256:l2"},
	}
	return &fakeImages{
		inspect: map[string]*agentv1.InspectImageResponse{"busybox": resp, "busybox:latest": resp},
		removed: map[string][]*agentv1.ImageDeleteItem{
			"busybox:1": {{Untagged: "busybox:1"}},
			"busybox": {
				{Untagged: "docker.io/library/busybox:latest"},
				{Untagged: "docker.io/library/busybox@" + busyboxDigest},
				{Deleted: busyboxID},
				{Deleted: "sha256:l1"},
			},
		},
	}
}

var wantInspect = `[
    {
        "Id": "` + busyboxID + `",
        "RepoTags": [
            "busybox:latest"
        ],
        "RepoDigests": [
            "busybox@` + busyboxDigest + `"
        ],
        "Parent": "",
        "Comment": "",
        "Created": "2024-01-02T03:04:05.123456789Z",
        "DockerVersion": "",
        "Author": "me",
        "Config": {
            "Hostname": "",
            "Domainname": "",
            "User": "",
            "AttachStdin": false,
            "AttachStdout": false,
            "AttachStderr": false,
            "ExposedPorts": {
                "80/tcp": {}
            },
            "Tty": false,
            "OpenStdin": false,
            "StdinOnce": false,
            "Env": [
                "PATH=/bin"
            ],
            "Cmd": [
                "sh"
            ],
            "Image": "",
            "Volumes": null,
            "WorkingDir": "/w",
            "Entrypoint": null,
            "OnBuild": null,
            "Labels": {
                "a": "b"
            },
            "StopSignal": "SIGTERM"
        },
        "Architecture": "arm64",
        "Variant": "v8",
        "Os": "linux",
        "Size": 4261550,
        "GraphDriver": {
            "Data": null,
            "Name": "overlay2"
        },
        "RootFS": {
            "Type": "layers",
            "Layers": [
                "sha256:l1",
                "sha256:l2"
            ]
        },
        "Metadata": {
            "LastTagTime": "0001-01-01T00:00:00Z"
        }
    }
]
`

func TestImageInspect(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    string
		wantErr string
	}{
		{name: "docker's JSON", args: []string{"busybox"}, want: wantInspect},
		{name: "json keyword", args: []string{"-f", "json", "busybox"}, want: wantInspect},
		{name: "template on the typed object", args: []string{"-f", "{{.Id}} {{.Size}} {{.Config.Cmd}} {{json .RootFS.Layers}}", "busybox"},
			want: busyboxID + " 4261550 [sh] [\"sha256:l1\",\"sha256:l2\"]\n"},
		{name: "two images", args: []string{"-f", "{{.Os}}/{{.Architecture}}", "busybox", "busybox:latest"}, want: "linux/arm64\nlinux/arm64\n"},
		{name: "unknown image", args: []string{"nope"}, want: "[]\n", wantErr: "Error: No such image: nope:latest\n"},
		{name: "known and unknown", args: []string{"-f", "{{.Os}}", "busybox", "nope@" + pullDigest}, want: "linux\n",
			wantErr: "Error: No such image: nope@" + pullDigest + "\n"},
		{name: "bad template", args: []string{"-f", "{{.Os", "busybox"}, wantErr: "template parsing error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, out, _ := newTestCLI(t, inspectFake())
			msg, code := execCmd(t, c.newImageInspectCommand(), tt.args...)
			if tt.wantErr == "" && code != 0 {
				t.Fatalf("exit %d: %s", code, msg)
			}
			if tt.wantErr != "" && (code == 0 || !strings.Contains(msg, tt.wantErr)) {
				t.Errorf("got exit %d %q, want an error %q", code, msg, tt.wantErr)
			}
			if out.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", out.String(), tt.want)
			}
		})
	}
}

func TestRmi(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    string
		wantErr string
	}{
		{name: "untag only", args: []string{"busybox:1"}, want: "Untagged: busybox:1\n"},
		{name: "untag and delete", args: []string{"busybox"},
			want: "Untagged: busybox:latest\nUntagged: busybox@" + busyboxDigest + "\nDeleted: " + busyboxID + "\nDeleted: sha256:l1\n"},
		{name: "errors do not stop the others", args: []string{"nope", "busybox:1", "Bad"},
			want:    "Untagged: busybox:1\n",
			wantErr: "Error response from daemon: No such image: nope:latest\nError: invalid reference format: repository name (Bad) must be lowercase"},
		{name: "no arguments", wantErr: "\"berth rmi\" requires at least 1 argument.\nSee 'berth rmi --help'.\n\nUsage:  berth rmi [OPTIONS] IMAGE [IMAGE...]\n\nRemove one or more images\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, out, _ := newTestCLI(t, inspectFake())
			msg, code := execCmd(t, c.newRmiCommand(), tt.args...)
			if tt.wantErr == "" && code != 0 {
				t.Fatalf("exit %d: %s", code, msg)
			}
			if tt.wantErr != "" && (code != 1 || !strings.HasPrefix(msg, tt.wantErr)) {
				t.Errorf("got exit %d %q, want exit 1 and %q", code, msg, tt.wantErr)
			}
			if out.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", out.String(), tt.want)
			}
		})
	}
}

func TestTag(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "ok", args: []string{"busybox", "127.0.0.1:5000/me/bb:2"}},
		{name: "unknown source", args: []string{"nope", "x:1"}, wantErr: "Error response from daemon: No such image: nope:latest\n"},
		{name: "bad target", args: []string{"busybox", "x::1"}, wantErr: `Error: invalid reference format: "x::1" is not an image name`},
		{name: "one argument", args: []string{"busybox"}, wantErr: "\"berth tag\" requires exactly 2 arguments."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := inspectFake()
			c, _, _ := newTestCLI(t, f)
			msg, code := execCmd(t, c.newTagCommand(), tt.args...)
			if tt.wantErr == "" {
				if code != 0 {
					t.Fatalf("exit %d: %s", code, msg)
				}
				if f.tagReq.Source != tt.args[0] || f.tagReq.Target != tt.args[1] {
					t.Errorf("request %v", f.tagReq)
				}
				return
			}
			if code != 1 || !strings.HasPrefix(msg, tt.wantErr) {
				t.Errorf("got exit %d %q, want exit 1 and %q", code, msg, tt.wantErr)
			}
		})
	}
}
