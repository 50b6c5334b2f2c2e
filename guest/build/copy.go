//go:build linux

package build

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/containerd/errdefs"
	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/berth-dev/berth/guest/container"
)

// source is where COPY and ADD read from: the build context or the file
// system of a stage or image.
type source struct {
	root    string
	ignore  ignoreMatcher
	context bool
}

// copyStep runs COPY.
func (r *run) copyStep(ctx context.Context, st *stage, c *instructions.CopyCommand) error {
	if err := classicOnly("COPY", c.Chmod != "", c.Link, c.Parents, len(c.ExcludePatterns) > 0, len(c.SourceContents) > 0); err != nil {
		return err
	}
	from, err := r.plan.expander(r.buildEnv(st))(c.From)
	if err != nil {
		return fmt.Errorf("COPY --from=%s: %v: %w", c.From, err, errdefs.ErrInvalidArgument)
	}
	src, release, err := r.sourceOf(ctx, from)
	if err != nil {
		return err
	}
	defer release()
	return r.copyFiles(ctx, st, copyOp{name: "COPY", srcs: c.SourcePaths, dest: c.DestPath, chown: c.Chown, src: src})
}

// addStep runs ADD: COPY from the context that also unpacks local tar
// archives. Remote sources are refused.
func (r *run) addStep(ctx context.Context, st *stage, c *instructions.AddCommand) error {
	if err := classicOnly("ADD", c.Chmod != "", c.Link, c.Checksum != "", len(c.ExcludePatterns) > 0, len(c.SourceContents) > 0); err != nil {
		return err
	}
	for _, s := range c.SourcePaths {
		if isRemote(s) {
			return fmt.Errorf("ADD %s: sources from URLs and git repositories are not supported by this builder: download the file into the build context and COPY it, or fetch it in a RUN step: %w", s, errdefs.ErrNotImplemented)
		}
	}
	src := source{root: r.opts.ContextDir, ignore: r.ignore, context: true}
	return r.copyFiles(ctx, st, copyOp{name: "ADD", srcs: c.SourcePaths, dest: c.DestPath, chown: c.Chown, src: src, unpack: true})
}

// classicOnly refuses the flags only BuildKit has, with docker's message.
func classicOnly(instr string, chmod, link, other, exclude, heredoc bool) error {
	for _, f := range []struct {
		set  bool
		name string
	}{{chmod, "--chmod"}, {link, "--link"}, {other, "--parents/--checksum"}, {exclude, "--exclude"}, {heredoc, "a heredoc"}} {
		if f.set {
			return fmt.Errorf("%s with %s requires BuildKit: this builder is docker's classic one: %w", instr, f.name, errdefs.ErrNotImplemented)
		}
	}
	return nil
}

func isRemote(s string) bool {
	for _, p := range []string{"http://", "https://", "git@", "git://"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// sourceOf is the context, or the file system of --from's stage or image.
func (r *run) sourceOf(ctx context.Context, from string) (source, func(), error) {
	if from == "" {
		return source{root: r.opts.ContextDir, ignore: r.ignore, context: true}, func() {}, nil
	}
	id := ""
	if st, ok := r.stages[strings.ToLower(from)]; ok {
		id = st.imageID
	} else {
		var err error
		if id, _, err = r.b.eng.Image(ctx, from, r.opts.Platform, false, r.out); err != nil {
			return source{}, nil, fmt.Errorf("COPY --from=%s: no stage or image of that name: %w", from, err)
		}
	}
	root, release, err := r.b.eng.View(ctx, id)
	if err != nil {
		return source{}, nil, err
	}
	return source{root: root}, release, nil
}

// copyOp is one COPY or ADD.
type copyOp struct {
	name   string
	srcs   []string
	dest   string
	chown  string
	src    source
	unpack bool
}

// copyFiles commits a COPY or ADD step: its cache key is the hash of the
// sources' contents and metadata.
func (r *run) copyFiles(ctx context.Context, st *stage, op copyOp) error {
	matches, err := op.src.resolve(op.name, op.srcs)
	if err != nil {
		return err
	}
	dest := op.dest
	if !path.IsAbs(dest) {
		dest = workdir(st, dest)
		if strings.HasSuffix(op.dest, "/") || op.dest == "." {
			dest += "/"
		}
	}
	if len(matches) > 1 && !strings.HasSuffix(dest, "/") {
		return fmt.Errorf("When using %s with more than one source file, the destination must be a directory and end with a /: %w", op.name, errdefs.ErrInvalidArgument)
	}
	sum, err := hashSources(matches, op.src)
	if err != nil {
		return err
	}
	createdBy := fmt.Sprintf("/bin/sh -c #(nop) %s %s in %s ", op.name, sum, dest)
	if op.chown != "" {
		createdBy = fmt.Sprintf("/bin/sh -c #(nop) %s --chown=%s %s in %s ", op.name, op.chown, sum, dest)
	}
	parent := st.imageID
	return r.commit(ctx, st, step{
		createdBy: createdBy, config: copyConfig(st.cf.Config),
		make: func(ctx context.Context) (string, error) { return r.stage(ctx, parent, op, matches, dest) },
	})
}

// stage writes the sources into a staging directory laid out as the image
// will see them and returns it as a layer tar.
func (r *run) stage(ctx context.Context, parent string, op copyOp, matches []match, dest string) (string, error) {
	view, release, err := r.b.eng.View(ctx, parent)
	if err != nil {
		return "", err
	}
	defer release()
	owner, err := resolveChown(view, op.chown)
	if err != nil {
		return "", err
	}
	staging, err := r.stagingDir()
	if err != nil {
		return "", err
	}
	w := &writer{view: view, staging: staging, owner: owner, src: op.src}
	for _, m := range matches {
		if err := w.place(ctx, m, dest, op.unpack); err != nil {
			return "", fmt.Errorf("%s failed: %w", op.name, err)
		}
	}
	return r.layerOf(staging, false)
}

// resolveChown resolves --chown against the image's /etc/passwd and
// /etc/group. A user without a group gets the group of the same number.
func resolveChown(view, spec string) (owner, error) {
	if spec == "" {
		return owner{}, nil
	}
	u, err := container.ResolveUser(view, spec, nil)
	if err != nil {
		return owner{}, fmt.Errorf("unable to convert uid/gid chown string to host mapping: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	o := owner{uid: int(u.UID), gid: int(u.GID)}
	if !strings.Contains(spec, ":") {
		o.gid = o.uid
	}
	return o, nil
}

// owner is the uid and gid new files get.
type owner struct{ uid, gid int }

// match is one source file or directory.
type match struct {
	rel  string // slash-separated, relative to the source root
	abs  string
	info os.FileInfo
}

// resolve finds what the source patterns name. Paths are relative to the
// root whatever their leading slash; symlinks are followed inside it.
func (s source) resolve(instr string, patterns []string) ([]match, error) {
	var out []match
	for _, p := range patterns {
		rel := filepath.ToSlash(filepath.Clean(filepath.FromSlash(p)))
		if rel == ".." || strings.HasPrefix(rel, "../") {
			return nil, fmt.Errorf("%s failed: forbidden path outside the build context: %s (): %w", instr, p, errdefs.ErrInvalidArgument)
		}
		rel = strings.TrimPrefix(path.Clean("/"+rel), "/")
		if rel == "" {
			rel = "."
		}
		cands := []string{rel}
		if strings.ContainsAny(rel, `*?[\`) {
			found, err := filepath.Glob(filepath.Join(s.root, rel))
			if err != nil {
				return nil, fmt.Errorf("%s failed: bad pattern %q: %w", instr, p, errdefs.ErrInvalidArgument)
			}
			cands = cands[:0]
			for _, f := range found {
				if r, err := filepath.Rel(s.root, f); err == nil && !s.ignore.excluded(filepath.ToSlash(r)) {
					cands = append(cands, filepath.ToSlash(r))
				}
			}
			if len(cands) == 0 {
				return nil, fmt.Errorf("%s failed: no source files were specified: %w", instr, errdefs.ErrInvalidArgument)
			}
		}
		for _, c := range cands {
			m, err := s.stat(instr, c)
			if err != nil {
				return nil, err
			}
			out = append(out, m)
		}
	}
	return out, nil
}

func (s source) stat(instr, rel string) (match, error) {
	notFound := func(err error) error {
		where := "file not found in build context or excluded by .dockerignore"
		if !s.context {
			where = "file not found in the stage"
		}
		return fmt.Errorf("%s failed: %s: stat %s: file does not exist: %w", instr, where, rel, errdefs.ErrNotFound)
	}
	if s.ignore.excluded(rel) {
		return match{}, notFound(nil)
	}
	abs, err := securejoin.SecureJoin(s.root, rel)
	if err != nil {
		return match{}, notFound(err)
	}
	info, err := os.Stat(abs)
	if err != nil {
		return match{}, notFound(err)
	}
	return match{rel: rel, abs: abs, info: info}, nil
}
