package client

import (
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

var (
	busyboxID     = "sha256:" + strings.Repeat("a1", 32)
	appID         = "sha256:" + strings.Repeat("b2", 32)
	danglingID    = "sha256:" + strings.Repeat("c3", 32)
	busyboxDigest = "sha256:" + strings.Repeat("d4", 32)
)

// testImages are what the fake agent lists: created relative to now so that
// CREATED reads the same whenever the test runs.
func testImages(now time.Time) []*agentv1.Image {
	return []*agentv1.Image{
		{
			Id:      danglingID,
			Created: timestamppb.New(now.Add(-72 * time.Hour)),
			Size:    1000,
		},
		{
			Id:          busyboxID,
			RepoTags:    []string{"docker.io/library/busybox:latest", "docker.io/library/busybox:1"},
			RepoDigests: []string{"docker.io/library/busybox@" + busyboxDigest},
			Created:     timestamppb.New(now.Add(-15 * 24 * time.Hour)),
			Size:        4261550,
		},
		{
			Id:       appID,
			RepoTags: []string{"127.0.0.1:5000/test/app:v1"},
			Created:  timestamppb.New(now.Add(-2 * time.Hour)),
			Size:     123456789,
			Labels:   map[string]string{"a": "b"},
		},
	}
}

func TestImages(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{
			name: "default table, newest first",
			want: "REPOSITORY                TAG       IMAGE ID       CREATED       SIZE\n" +
				"127.0.0.1:5000/test/app   v1        b2b2b2b2b2b2   2 hours ago   123MB\n" +
				"<none>                    <none>    c3c3c3c3c3c3   3 days ago    1kB\n" +
				"busybox                   latest    a1a1a1a1a1a1   2 weeks ago   4.26MB\n" +
				"busybox                   1         a1a1a1a1a1a1   2 weeks ago   4.26MB\n",
		},
		{
			name: "quiet",
			args: []string{"-q"},
			want: "b2b2b2b2b2b2\nc3c3c3c3c3c3\na1a1a1a1a1a1\na1a1a1a1a1a1\n",
		},
		{
			name: "digests",
			args: []string{"--digests"},
			want: "REPOSITORY                TAG       DIGEST                                                                    IMAGE ID       CREATED       SIZE\n" +
				"127.0.0.1:5000/test/app   v1        <none>                                                                    b2b2b2b2b2b2   2 hours ago   123MB\n" +
				"<none>                    <none>    <none>                                                                    c3c3c3c3c3c3   3 days ago    1kB\n" +
				"busybox                   latest    " + busyboxDigest + "   a1a1a1a1a1a1   2 weeks ago   4.26MB\n" +
				"busybox                   1         " + busyboxDigest + "   a1a1a1a1a1a1   2 weeks ago   4.26MB\n",
		},
		{
			name: "no-trunc with a custom table",
			args: []string{"--no-trunc", "--format", `table {{.ID}}\t{{.Tag}}`},
			want: "IMAGE ID                                                                  TAG\n" +
				appID + "   v1\n" +
				danglingID + "   <none>\n" +
				busyboxID + "   latest\n" +
				busyboxID + "   1\n",
		},
		{
			name: "plain template",
			args: []string{"--format", "{{.Repository}}:{{.Tag}}"},
			want: "127.0.0.1:5000/test/app:v1\n<none>:<none>\nbusybox:latest\nbusybox:1\n",
		},
		{
			name: "only the names that match the reference are listed",
			args: []string{"--format", "{{.Repository}}:{{.Tag}}", "busybox:l*"},
			want: "busybox:latest\n",
		},
		{
			name: "a bare repository matches all its tags",
			args: []string{"--format", "{{.Repository}}:{{.Tag}}", "busybox"},
			want: "busybox:latest\nbusybox:1\n",
		},
		{
			name: "table keyword alone is the default table",
			args: []string{"--format", "table", "-q"},
			want: "b2b2b2b2b2b2\nc3c3c3c3c3c3\na1a1a1a1a1a1\na1a1a1a1a1a1\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, out, _ := newTestCLI(t, &fakeImages{images: testImages(time.Now())})
			if msg, code := execCmd(t, c.newImagesCommand(), tt.args...); code != 0 {
				t.Fatalf("exit %d: %s", code, msg)
			}
			if out.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", out.String(), tt.want)
			}
		})
	}
}

func TestImagesJSON(t *testing.T) {
	now := time.Now()
	imgs := testImages(now)
	c, out, _ := newTestCLI(t, &fakeImages{images: imgs[:2]})
	if msg, code := execCmd(t, c.newImagesCommand(), "--format", "json"); code != 0 {
		t.Fatalf("exit %d: %s", code, msg)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3:\n%s", len(lines), out)
	}
	dangling := `{"Containers":"0","CreatedAt":"` + imgs[0].Created.AsTime().Truncate(time.Second).Local().String() +
		`","CreatedSince":"3 days ago","Digest":"\u003cnone\u003e","ID":"c3c3c3c3c3c3","Repository":"\u003cnone\u003e",` +
		`"SharedSize":"N/A","Size":"1kB","Tag":"\u003cnone\u003e","UniqueSize":"N/A","VirtualSize":"1kB"}`
	if lines[0] != dangling {
		t.Errorf("got  %s\nwant %s", lines[0], dangling)
	}
	for _, key := range []string{`"Repository":"busybox"`, `"Tag":"latest"`, `"Size":"4.26MB"`, `"CreatedSince":"2 weeks ago"`} {
		if !strings.Contains(lines[1], key) {
			t.Errorf("line %s lacks %s", lines[1], key)
		}
	}
}

func TestImagesFilters(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
		all  bool
	}{
		{"reference argument", []string{"busybox"}, []string{"reference=busybox"}, false},
		{"filters and all", []string{"-a", "-f", "dangling=true", "--filter", "label=a=b,c"}, []string{"dangling=true", "label=a=b,c"}, true},
		{"both", []string{"-f", "dangling=false", "busy*:1"}, []string{"dangling=false", "reference=busy*:1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeImages{}
			c, _, _ := newTestCLI(t, f)
			if msg, code := execCmd(t, c.newImagesCommand(), tt.args...); code != 0 {
				t.Fatalf("exit %d: %s", code, msg)
			}
			if !slices.Equal(f.listReq.Filters, tt.want) || f.listReq.All != tt.all {
				t.Errorf("request %v, want filters %v all %v", f.listReq, tt.want, tt.all)
			}
		})
	}
}

func TestImagesBadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
		code int
	}{
		{"filter without =", []string{"-f", "dangling"}, `Error: invalid argument "dangling" for "-f, --filter" flag: bad format of filter (expected name=value)` + "\n", 125},
		{"two arguments", []string{"a", "b"}, "\"berth images\" accepts at most 1 argument.\nSee 'berth images --help'.\n\nUsage:  berth images [OPTIONS] [REPOSITORY[:TAG]]\n\nList images\n", 1},
		{"bad template", []string{"--format", "{{.Nope"}, "template parsing error", 1},
		{"unknown flag", []string{"--bogus"}, "unknown flag: --bogus\nSee 'berth images --help'.\n", 125},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeImages{}
			c, _, _ := newTestCLI(t, f)
			msg, code := execCmd(t, c.newImagesCommand(), tt.args...)
			if code != tt.code || !strings.Contains(msg, tt.want) {
				t.Errorf("got exit %d %q, want exit %d %q", code, msg, tt.code, tt.want)
			}
			if f.calls != 0 {
				t.Errorf("the agent was called %d times for bad input", f.calls)
			}
		})
	}
}

func TestImageRefs(t *testing.T) {
	tests := []struct {
		name    string
		img     *agentv1.Image
		digests bool
		want    []repoTagDigest
	}{
		{"untagged", &agentv1.Image{}, false, []repoTagDigest{{"<none>", "<none>", "<none>"}}},
		{"digest only", &agentv1.Image{RepoDigests: []string{"docker.io/library/x@sha256:1"}}, false, []repoTagDigest{{"x", "<none>", ""}}},
		{"digest only with digests", &agentv1.Image{RepoDigests: []string{"x@sha256:1", "x@sha256:2"}}, true, []repoTagDigest{{"x", "<none>", "sha256:1"}, {"x", "<none>", "sha256:2"}}},
		{"user repo on the hub", &agentv1.Image{RepoTags: []string{"docker.io/me/app:2"}}, false, []repoTagDigest{{"me/app", "2", "<none>"}}},
		{"port, no tag kept apart", &agentv1.Image{RepoTags: []string{"localhost:5000/a:b", "localhost:5000/a"}}, false, []repoTagDigest{{"localhost:5000/a", "b", "<none>"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := imageRefs(tt.img, tt.digests)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
