package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/ttrpc"
	"github.com/moby/moby/api/pkg/stdcopy"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/berth-dev/berth/host/machine"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
	"github.com/berth-dev/berth/proto/stream"
)

// The folder-share check of `berth doctor`: it reads the VM's kernel
// command line (which lists every share the driver asked the guest to
// mount: berth.share, berth.share9p, berth.sharehv) and the VM's mount
// table, both through System.Shell running /bin/cat in the VM, and says
// which share is not mounted where it should be.

// shareCmd is what doctor runs in the VM: the command line first (one
// line), then the mount table.
var shareCmd = []string{"/bin/cat", "/proc/cmdline", "/proc/self/mountinfo"}

// shareCheckWait bounds the whole share check.
const shareCheckWait = 15 * time.Second

// vmShare is a share the kernel command line asks the guest to mount.
type vmShare struct {
	Tag, Path, FSType string
}

// cmdlineShares returns the shares of a berth kernel command line; values
// that do not parse are skipped (the guest reports those in its log).
func cmdlineShares(cmdline string) []vmShare {
	var out []vmShare
	for _, f := range strings.Fields(cmdline) {
		k, v, _ := strings.Cut(f, "=")
		fstype := map[string]string{"berth.share": "virtiofs", "berth.share9p": "9p", "berth.sharehv": "9p"}[k]
		tag, p, ok := strings.Cut(v, ":")
		if fstype == "" || !ok {
			continue
		}
		if p, err := url.PathUnescape(p); err == nil && strings.HasPrefix(p, "/") {
			out = append(out, vmShare{Tag: tag, Path: p, FSType: fstype})
		}
	}
	return out
}

// parseMountinfo returns the file system type of every mount point in a
// /proc/self/mountinfo text (the last mount at a point wins, as it hides
// the ones below).
func parseMountinfo(text string) map[string]string {
	mounts := map[string]string{}
	for _, l := range strings.Split(text, "\n") {
		pre, post, ok := strings.Cut(l, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 1 {
			continue
		}
		mounts[unescapeMountinfo(f[4])] = g[0]
	}
	return mounts
}

// unescapeMountinfo decodes the kernel's octal escapes (\040 for a space).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// shareProblems lists each share that is not mounted at its path with its
// file system type, sorted; none means every share is in place.
func shareProblems(shares []vmShare, mounts map[string]string) []string {
	var out []string
	for _, s := range shares {
		switch got, ok := mounts[s.Path]; {
		case !ok:
			out = append(out, fmt.Sprintf("%s is not mounted (%s share %q)", s.Path, s.FSType, s.Tag))
		case got != s.FSType:
			out = append(out, fmt.Sprintf("%s is %s, not the %s share %q", s.Path, got, s.FSType, s.Tag))
		}
	}
	sort.Strings(out)
	return out
}

// vmShareState runs shareCmd in m's VM and returns the shares its command
// line asks for and its mount table.
func vmShareState(ctx context.Context, m *machine.Machine) ([]vmShare, map[string]string, error) {
	ctx, cancel := context.WithTimeout(ctx, shareCheckWait)
	defer cancel()
	out, err := runInVM(ctx, m, shareCmd)
	if err != nil {
		return nil, nil, err
	}
	cmdline, mountinfo, _ := strings.Cut(out, "\n")
	return cmdlineShares(cmdline), parseMountinfo(mountinfo), nil
}

// runInVM runs args in m's VM (System.Shell, no TTY, no stdin) and
// returns its standard output; a non-zero exit is an error with stderr.
func runInVM(ctx context.Context, m *machine.Machine, args []string) (string, error) {
	dial := m.Dialer()
	conn, err := stream.Open(dial, stream.Header{Kind: stream.KindTTRPC})
	if err != nil {
		return "", err
	}
	cl := ttrpc.NewClient(conn)
	defer cl.Close()
	sys := agentv1.NewTTRPCSystemClient(cl)
	r, err := sys.OpenStream(ctx, &emptypb.Empty{})
	if err != nil {
		return "", fromAgent(err)
	}
	data, err := stream.Open(dial, stream.Header{Kind: stream.KindData, ID: r.Id})
	if err != nil {
		return "", err
	}
	defer data.Close()
	if cw, ok := data.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite() // no stdin
	}
	var stdout, stderr bytes.Buffer
	copied := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(&stdout, &stderr, io.LimitReader(data, 4<<20))
		copied <- err
	}()
	resp, err := sys.Shell(ctx, &agentv1.ShellRequest{StreamId: r.Id, Args: args})
	if err != nil {
		return "", fromAgent(err)
	}
	select {
	case err = <-copied:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		return "", fmt.Errorf("reading the output of %s in the VM: %w", strings.Join(args, " "), err)
	}
	if resp.ExitCode != 0 {
		return "", fmt.Errorf("%s in the VM exited with %d: %s", strings.Join(args, " "), resp.ExitCode, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
