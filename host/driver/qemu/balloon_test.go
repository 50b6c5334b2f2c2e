//go:build linux || darwin

package qemu

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
)

func TestBalloonRequest(t *testing.T) {
	tests := []struct {
		name        string
		bytes, full uint64
		want        string
	}{
		{"within", 512 << 20, 2 << 30, `{"execute":"balloon","arguments":{"value":536870912}}`},
		{"above full", 4 << 30, 2 << 30, `{"execute":"balloon","arguments":{"value":2147483648}}`},
		{"below the minimum", 1 << 20, 2 << 30, `{"execute":"balloon","arguments":{"value":134217728}}`},
		{"no full given", 3 << 30, 0, `{"execute":"balloon","arguments":{"value":3221225472}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(balloonRequest(tt.bytes, tt.full))
			if err != nil || string(b) != tt.want {
				t.Errorf("balloonRequest(%d, %d) = %s, %v; want %s", tt.bytes, tt.full, b, err, tt.want)
			}
		})
	}
	if b, _ := json.Marshal(qmpRequest{Execute: "quit"}); string(b) != `{"execute":"quit"}` {
		t.Errorf("a command without arguments = %s", b)
	}
}

func TestQMPExecuteArguments(t *testing.T) {
	p := filepath.Join(t.TempDir(), "q.sock")
	got := fakeQMPServer(t, p, map[string]string{"query-balloon": `{"return": {"actual": 805306368}}`})
	// qmpExecute takes one connection per command; the fake serves one.
	ret, err := qmpExecute(context.Background(), p, balloonRequest(768<<20, 1<<30))
	if err != nil {
		t.Fatalf("qmpExecute(balloon): %v", err)
	}
	if string(ret) != "{}" {
		t.Errorf("balloon returned %s, want {}", ret)
	}
	lines := <-got
	want := []string{`{"execute":"qmp_capabilities"}`, `{"execute":"balloon","arguments":{"value":805306368}}`}
	if len(lines) != 2 || lines[0] != want[0] || lines[1] != want[1] {
		t.Errorf("the QMP server got %q, want %q", lines, want)
	}

	p2 := filepath.Join(t.TempDir(), "q2.sock")
	fakeQMPServer(t, p2, map[string]string{"query-balloon": `{"return": {"actual": 805306368}}`})
	ret, err = qmpExecute(context.Background(), p2, qmpRequest{Execute: "query-balloon"})
	if err != nil {
		t.Fatalf("qmpExecute(query-balloon): %v", err)
	}
	if n, err := parseBalloonInfo(ret); err != nil || n != 768<<20 {
		t.Errorf("parseBalloonInfo(%s) = %d, %v; want %d", ret, n, err, 768<<20)
	}

	p3 := filepath.Join(t.TempDir(), "q3.sock")
	fakeQMPServer(t, p3, map[string]string{"balloon": `{"error": {"class": "DeviceNotActive", "desc": "No balloon device has been activated"}}`})
	_, err = qmpExecute(context.Background(), p3, balloonRequest(1<<30, 1<<30))
	if err == nil || err.Error() != "qmp balloon: DeviceNotActive: No balloon device has been activated" {
		t.Errorf("a QMP error reply = %v", err)
	}
}

func TestParseBalloonInfo(t *testing.T) {
	for _, bad := range []string{`{}`, `[]`, `{"actual": "x"}`} {
		if _, err := parseBalloonInfo(json.RawMessage(bad)); err == nil {
			t.Errorf("parseBalloonInfo(%s) succeeded", bad)
		}
	}
}
