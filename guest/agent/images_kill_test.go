//go:build linux

package agent_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/berth-dev/berth/guest/internal/testenv"
	"github.com/berth-dev/berth/internal/testimage"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// startAgentProcess runs the test binary as a standalone agent.
func startAgentProcess(t *testing.T, dataDir, sock string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envAgentDir+"="+dataDir, envAgentSocket+"="+sock)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start agent: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func TestKillDuringPull(t *testing.T) {
	testenv.RequiresRoot(t)
	ctx := context.Background()
	reg, g := testimage.GatedRegistry(t, 1<<20)
	// Random, incompressible layers: 4 x 8 MiB.
	img, err := random.Image(8<<20, 4)
	if err != nil {
		t.Fatal(err)
	}
	testimage.Push(t, reg+"/big/image:1", img)

	dir := t.TempDir()
	data, sock := filepath.Join(dir, "data"), filepath.Join(dir, "agent.sock")
	agent1 := startAgentProcess(t, data, sock)
	c := connect(t, sock)
	pullErr := make(chan error, 1)
	go func() { _, err := c.pull(ctx, reg+"/big/image:1"); pullErr <- err }()
	<-g.Held() // a layer is mid-download
	if err := agent1.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	agent1.Wait()
	if err := <-pullErr; err == nil {
		t.Fatalf("pull finished although the agent was killed")
	}
	g.Open()

	startAgentProcess(t, data, sock)
	c = connect(t, sock)
	msgs, err := c.pull(ctx, reg+"/big/image:1")
	if err != nil {
		t.Fatalf("pull after restart: %v", err)
	}
	want, _ := img.ConfigName()
	if last := msgs[len(msgs)-1]; !last.Done || last.ImageId != want.String() {
		t.Fatalf("pull after restart ended with %+v, want image %s", last, want)
	}
	ins, err := c.imgCl.Inspect(ctx, &agentv1.InspectImageRequest{Ref: reg + "/big/image:1"})
	if err != nil || len(ins.ChainIds) != 4 {
		t.Fatalf("Inspect = %v, %v; want 4 layers", ins, err)
	}
	verifyBlobs(t, filepath.Join(data, "content"))
	if ents, _ := os.ReadDir(filepath.Join(data, "content", "ingest")); len(ents) != 0 {
		t.Errorf("%d partial downloads left in ingest", len(ents))
	}
}

// verifyBlobs re-hashes every stored blob.
func verifyBlobs(t *testing.T, content string) {
	t.Helper()
	dir := filepath.Join(content, "blobs", "sha256")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) < 6 { // 4 layers, config, manifest
		t.Errorf("only %d blobs stored", len(ents))
	}
	for _, e := range ents {
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		io.Copy(h, f)
		f.Close()
		if got := hex.EncodeToString(h.Sum(nil)); got != e.Name() {
			t.Errorf("blob %s is corrupt: hashes to %s", e.Name(), got)
		}
	}
}
