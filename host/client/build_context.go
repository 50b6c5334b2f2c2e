package client

import (
	"archive/tar"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// buildCtx is the build context ready to send: a tar (spooled to a temp
// file, or stdin's tar as it comes) and the Dockerfile when it is not in
// the context.
type buildCtx struct {
	io.Reader
	size           int64 // -1 when unknown (streamed from stdin)
	dockerfile     []byte
	dockerfileName string
	cleanup        func()
}

func (b *buildCtx) Close() error {
	if b.cleanup != nil {
		b.cleanup()
	}
	return nil
}

// buildContext prepares the context PATH | - and the -f Dockerfile.
func (c *cli) buildContext(o buildOptions) (*buildCtx, error) {
	if isRemoteContext(o.context) {
		return nil, fmt.Errorf("unable to prepare context: remote build contexts (URLs, git repositories) are not supported: clone or download it and build the directory")
	}
	var dfContent []byte
	if o.file == "-" {
		if o.context == "-" {
			return nil, errors.New("invalid argument: can't use stdin for both build context and dockerfile")
		}
		b, err := io.ReadAll(c.in)
		if err != nil {
			return nil, fmt.Errorf("unable to read the Dockerfile from stdin: %w", err)
		}
		dfContent = b
	}
	if o.context == "-" {
		return c.stdinContext(o)
	}
	st, err := os.Stat(o.context)
	if err != nil || !st.IsDir() {
		return nil, fmt.Errorf("unable to prepare context: path %q not found", o.context)
	}
	bc := &buildCtx{dockerfile: dfContent, dockerfileName: "Dockerfile"}
	if o.file != "" && o.file != "-" {
		if err := bc.locateDockerfile(o.context, o.file); err != nil {
			return nil, err
		}
	} else if o.file == "" {
		if _, err := os.Stat(filepath.Join(o.context, "Dockerfile")); err != nil {
			return nil, fmt.Errorf("unable to prepare context: unable to evaluate symlinks in Dockerfile path: %w", err)
		}
	}
	return bc, bc.spool(o.context)
}

// locateDockerfile finds -f FILE: inside the context it is named by its
// path there; outside it is sent along with the request.
func (b *buildCtx) locateDockerfile(contextDir, file string) error {
	absCtx, err := filepath.Abs(contextDir)
	if err != nil {
		return err
	}
	absFile, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	if _, err := os.Stat(absFile); err != nil {
		return fmt.Errorf("unable to prepare context: unable to evaluate symlinks in Dockerfile path: %w", err)
	}
	if rel, err := filepath.Rel(absCtx, absFile); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		b.dockerfileName = filepath.ToSlash(rel)
		return nil
	}
	content, err := os.ReadFile(absFile)
	if err != nil {
		return fmt.Errorf("unable to read the Dockerfile: %w", err)
	}
	b.dockerfile = content
	return nil
}

// stdinContext reads `-`: a tar (possibly compressed) is the context; any
// other input is a Dockerfile with an empty context, as docker does.
func (c *cli) stdinContext(o buildOptions) (*buildCtx, error) {
	br := bufio.NewReaderSize(c.in, 1024)
	head, _ := br.Peek(512)
	if isArchive(head) {
		return &buildCtx{Reader: br, size: -1, dockerfileName: dockerfileOr(o.file)}, nil
	}
	df, err := io.ReadAll(br)
	if err != nil {
		return nil, fmt.Errorf("unable to read the Dockerfile from stdin: %w", err)
	}
	var empty bytes.Buffer
	tw := tar.NewWriter(&empty)
	tw.Close()
	return &buildCtx{Reader: &empty, size: int64(empty.Len()), dockerfile: df, dockerfileName: "Dockerfile"}, nil
}

func dockerfileOr(f string) string {
	if f == "" {
		return "Dockerfile"
	}
	return f
}

// isArchive reports whether head starts a tar or a compressed stream.
func isArchive(head []byte) bool {
	for _, m := range [][]byte{{0x1f, 0x8b}, []byte("BZh"), {0xfd, '7', 'z', 'X', 'Z', 0}, {0x28, 0xb5, 0x2f, 0xfd}} {
		if bytes.HasPrefix(head, m) {
			return true
		}
	}
	return len(head) >= 262 && string(head[257:262]) == "ustar"
}

func isRemoteContext(s string) bool {
	for _, p := range []string{"http://", "https://", "git://", "git@", "github.com/"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// spool tars the context directory into a temp file, leaving out what
// .dockerignore excludes (but never the Dockerfile or .dockerignore).
func (b *buildCtx) spool(dir string) error {
	f, err := os.CreateTemp("", "berth-build-*.tar")
	if err != nil {
		return err
	}
	b.cleanup = func() { f.Close(); os.Remove(f.Name()) }
	if err := writeContextTar(f, dir, b.dockerfileName); err != nil {
		b.cleanup()
		return fmt.Errorf("unable to prepare context: %w", err)
	}
	n, err := f.Seek(0, io.SeekCurrent)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		b.cleanup()
		return err
	}
	b.Reader, b.size = f, n
	return nil
}

// writeContextTar writes dir as a tar owned by root, in walk order.
func writeContextTar(w io.Writer, dir, dockerfile string) error {
	pm, err := readIgnore(dir)
	if err != nil {
		return err
	}
	keep := map[string]bool{".dockerignore": true, filepath.ToSlash(filepath.Clean(dockerfile)): true}
	tw := tar.NewWriter(w)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		slash := filepath.ToSlash(rel)
		if pm != nil && !keep[slash] {
			if ex, _ := pm.MatchesOrParentMatches(rel); ex {
				if d.IsDir() && !pm.Exclusions() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		return addContextEntry(tw, p, slash, d)
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

func readIgnore(dir string) (*patternmatcher.PatternMatcher, error) {
	f, err := os.Open(filepath.Join(dir, ".dockerignore"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("error reading .dockerignore: %w", err)
	}
	return patternmatcher.New(patterns)
}

func addContextEntry(tw *tar.Writer, p, name string, d fs.DirEntry) error {
	info, err := d.Info()
	if err != nil {
		return err
	}
	if info.Mode()&(fs.ModeSocket|fs.ModeIrregular) != 0 {
		return nil // sockets and the like are not sent
	}
	return writeFileToTar(tw, p, name, info, func(h *tar.Header) {
		h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
	})
}
