//go:build linux

package agent

import (
	"archive/tar"
	"context"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	securejoin "github.com/cyphar/filepath-securejoin"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/berth-dev/berth/guest/build"
	"github.com/berth-dev/berth/guest/snapshot"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// Change kinds, docker's numbering.
const (
	changeModify = 0
	changeAdd    = 1
	changeDelete = 2
)

// changes lists what the container changed in its writable layer.
func (e *engine) changes(r *record) (*agentv1.ChangesResponse, error) {
	upper, err := e.upperDir(r)
	if err != nil {
		return nil, err
	}
	c, err := e.runtimeContainer(r)
	if err != nil {
		return nil, err
	}
	lowers := c.Config().Lowers
	inLower := func(rel string) bool {
		for _, l := range lowers {
			if _, err := os.Lstat(filepath.Join(l, rel)); err == nil {
				return true
			}
		}
		return false
	}
	resp := &agentv1.ChangesResponse{}
	err = filepath.WalkDir(upper, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == upper {
			return err
		}
		rel, _ := filepath.Rel(upper, p)
		ch := &agentv1.Change{Path: "/" + rel, Kind: changeAdd}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case build.IsWhiteout(info):
			ch.Kind = changeDelete
		case inLower(rel):
			ch.Kind = changeModify
		}
		resp.Changes = append(resp.Changes, ch)
		return nil
	})
	sort.Slice(resp.Changes, func(i, j int) bool { return resp.Changes[i].Path < resp.Changes[j].Path })
	return resp, err
}

// hostPath resolves a path in the container to where it lives here: in a
// bind or volume mount's source, else in the container's root filesystem,
// never outside either.
func (e *engine) hostPath(r *record, p string) (string, error) {
	c, err := e.runtimeContainer(r)
	if err != nil {
		return "", err
	}
	p = path.Clean("/" + p)
	best := -1
	for i, m := range r.Mounts {
		if m.Type == "tmpfs" || m.Source == "" {
			continue
		}
		if p == m.Destination || strings.HasPrefix(p, strings.TrimSuffix(m.Destination, "/")+"/") {
			if best < 0 || len(m.Destination) > len(r.Mounts[best].Destination) {
				best = i
			}
		}
	}
	if best >= 0 {
		m := r.Mounts[best]
		return securejoin.SecureJoin(m.Source, strings.TrimPrefix(p, m.Destination))
	}
	return securejoin.SecureJoin(c.Rootfs(), p)
}

// copyFrom stats path in the container and writes a tar of it to the
// data stream.
func (e *engine) copyFrom(ctx context.Context, r *record, req *agentv1.CopyRequest, streams *streamRegistry) (*agentv1.PathStat, error) {
	hp, err := e.hostPath(r, req.Path)
	if err != nil {
		return nil, err
	}
	info, err := os.Lstat(hp)
	if err != nil {
		return nil, newKindError(errdefs.ErrNotFound, "Could not find the file %s in container %s", req.Path, r.Name)
	}
	stat := pathStat(info, hp)
	conn, err := streams.wait(ctx, req.StreamId)
	if err != nil {
		return nil, err
	}
	e.goOwned(func(ctx context.Context) {
		defer conn.Close()
		base := path.Base(path.Clean("/" + req.Path))
		if base == "/" {
			base = "."
		}
		if err := writeTar(conn, hp, base); err != nil {
			log.G(ctx).WithError(err).Debug("copy from container")
		}
	})
	return stat, nil
}

func pathStat(info fs.FileInfo, p string) *agentv1.PathStat {
	st := &agentv1.PathStat{Name: info.Name(), Size: info.Size(), Mode: uint32(info.Mode()), Mtime: timestamppb.New(info.ModTime())}
	if info.Mode()&fs.ModeSymlink != 0 {
		st.LinkTarget, _ = os.Readlink(p)
	}
	return st
}

// writeTar writes the tree at src to w, named under name.
func writeTar(w io.Writer, src, name string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			link, _ = os.Readlink(p)
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return nil // sockets and the like are skipped
		}
		hdr.Name = path.Join(name, filepath.ToSlash(rel))
		if info.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uname, hdr.Gname = "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// copyTo extracts the tar read from the data stream into the directory
// path of the container, never writing outside it.
func (e *engine) copyTo(ctx context.Context, r *record, req *agentv1.CopyRequest, streams *streamRegistry) error {
	hp, err := e.hostPath(r, req.Path)
	if err != nil {
		return err
	}
	info, err := os.Stat(hp)
	if err != nil {
		return newKindError(errdefs.ErrNotFound, "Could not find the file %s in container %s", req.Path, r.Name)
	}
	if !info.IsDir() {
		return newKindError(errdefs.ErrInvalidArgument, "extraction point is not a directory: %s", req.Path)
	}
	conn, err := streams.wait(ctx, req.StreamId)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := snapshot.Apply(ctx, hp, conn); err != nil {
		return newKindError(errdefs.ErrInvalidArgument, "copy into container %s: %v", r.Name, err)
	}
	return nil
}
