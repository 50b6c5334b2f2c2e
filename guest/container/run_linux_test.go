package container

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestRunOutputAndExitCodes(t *testing.T) {
	r := newTestRuntime(t, "")
	tests := []struct {
		name       string
		cmd        []string
		wantOut    string
		wantErr    string
		wantCode   int
		wantStartE int // expected StartError exit code
		edit       func(*Config)
	}{
		{name: "echo", cmd: []string{"echo", "hello"}, wantOut: "hello\n"},
		{name: "stderr", cmd: []string{"sh", "-c", "echo oops >&2"}, wantErr: "oops\n"},
		{name: "true", cmd: []string{"true"}},
		{name: "exit 3", cmd: []string{"sh", "-c", "exit 3"}, wantCode: 3},
		{name: "exit 130", cmd: []string{"sh", "-c", "exit 130"}, wantCode: 130},
		{name: "user env workdir", cmd: []string{"sh", "-c", "id -u; id -G; pwd; echo $HOSTNAME $FOO"}, wantOut: "1000\n1000 2000\n/home/app\nbox bar\n",
			edit: func(c *Config) {
				c.Create.User, c.Create.WorkingDir, c.Create.Hostname, c.Create.Env = "app", "/home/app", "box", []string{"FOO=bar"}
			}},
		{name: "missing binary", cmd: []string{"nosuch"}, wantStartE: 127},
		{name: "missing absolute", cmd: []string{"/nosuch"}, wantStartE: 127},
		{name: "not executable", cmd: []string{"/etc/passwd"}, wantStartE: 126},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var edits []func(*Config)
			if tt.edit != nil {
				edits = append(edits, tt.edit)
			}
			c := newTestContainer(t, r, tt.cmd, edits...)
			if tt.wantStartE != 0 {
				_, err := c.Start(context.Background(), nil)
				var se *StartError
				if !errors.As(err, &se) || se.ExitCode != tt.wantStartE {
					t.Fatalf("Start error = %v, want StartError %d", err, tt.wantStartE)
				}
				if st := c.State(context.Background()); st.ExitCode != tt.wantStartE || st.Status != StatusCreated {
					t.Errorf("state after failed start = %+v", st)
				}
				return
			}
			out, errOut, code := runAttached(t, c)
			if out != tt.wantOut || errOut != tt.wantErr || code != tt.wantCode {
				t.Errorf("got out %q err %q code %d, want %q %q %d", out, errOut, code, tt.wantOut, tt.wantErr, tt.wantCode)
			}
			if st := c.State(context.Background()); st.Status != StatusExited || st.ExitCode != tt.wantCode {
				t.Errorf("state = %+v", st)
			}
		})
	}
}

func TestMissingBinaryMessage(t *testing.T) {
	r := newTestRuntime(t, "")
	c := newTestContainer(t, r, []string{"nosuch"})
	_, err := c.Start(context.Background(), nil)
	want := `exec: "nosuch": executable file not found in $PATH`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v does not contain %q", err, want)
	}
}
