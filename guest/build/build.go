//go:build linux

package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	bolt "go.etcd.io/bbolt"
)

// Engine is what a build needs from the container engine and image store.
type Engine interface {
	// Image returns the id and config of the image ref names, pulling it
	// (for platform, "" for the engine's own) when it is not stored or when
	// pull is set; pull progress lines go to out.
	Image(ctx context.Context, ref, platform string, pull bool, out io.Writer) (string, *v1.ConfigFile, error)
	// Config returns the config of image id, or an errdefs.ErrNotFound
	// error when the image is gone.
	Config(ctx context.Context, id string) (*v1.ConfigFile, error)
	// Create makes, without starting it, a container of image id that will
	// run spec.
	Create(ctx context.Context, imageID string, spec RunSpec) (Container, error)
	// View returns a read-only view of image id's file system ("" for an
	// empty one) and a function that releases it.
	View(ctx context.Context, imageID string) (string, func(), error)
	// Commit stores an image made of parent's layers (none for "") plus
	// the layer tar at layerPath ("" for none), with config cf, and
	// returns its id.
	Commit(ctx context.Context, parent, layerPath string, cf *v1.ConfigFile) (string, error)
	// Tag names image id ref and returns the name in familiar form
	// ("app:latest").
	Tag(ctx context.Context, id, ref string) (string, error)
}

// RunSpec is the process of a RUN step.
type RunSpec struct {
	Cmd        []string
	Env        []string
	User       string
	WorkingDir string
	// Network is "bridge" (also for "" and "default"), "none" or "host".
	Network string
}

// Container is an intermediate container of a RUN step.
type Container interface {
	ID() string
	// Upper is the container's writable layer directory (overlay upper).
	Upper() string
	// Run starts the container, copies its output to out until it exits
	// and returns its exit code.
	Run(ctx context.Context, out io.Writer) (int, error)
	// Remove removes the container and its anonymous volumes.
	Remove(ctx context.Context) error
}

// Options describe one build.
type Options struct {
	// ContextDir holds the unpacked build context.
	ContextDir string
	// Dockerfile is the Dockerfile's path in the context ("Dockerfile"
	// when empty); DockerfileContent, when set, is used instead.
	Dockerfile        string
	DockerfileContent []byte
	Tags              []string
	BuildArgs         map[string]string
	Target            string
	NoCache           bool
	Pull              bool
	Labels            map[string]string
	Network           string
	Platform          string
}

// Builder runs builds against an engine, keeping its layer cache in a bbolt
// database. It is safe for concurrent use.
type Builder struct {
	eng   Engine
	cache *cache
	tmp   string
}

// New returns a Builder keeping its cache in db (which the caller owns)
// and its scratch files under tmpDir.
func New(db *bolt.DB, eng Engine, tmpDir string) (*Builder, error) {
	c, err := openCache(db)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(tmpDir, 0o700); err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	return &Builder{eng: eng, cache: c, tmp: tmpDir}, nil
}

// RunError is a RUN step whose command failed; its message is docker's.
type RunError struct {
	Cmd  []string
	Code int
}

func (e *RunError) Error() string {
	return fmt.Sprintf("The command '%s' returned a non-zero code: %d", strings.Join(e.Cmd, " "), e.Code)
}

// Build builds the image opts describe, writing the builder's output
// (docker's classic lines) to out, and returns the image id.
func (b *Builder) Build(ctx context.Context, opts Options, out io.Writer) (string, error) {
	df, err := readDockerfile(opts)
	if err != nil {
		return "", err
	}
	p, err := parse(df, opts.Target, opts.Labels)
	if err != nil {
		return "", err
	}
	ign, err := readDockerignore(opts.ContextDir)
	if err != nil {
		return "", err
	}
	r := &run{b: b, opts: opts, out: out, plan: p, ignore: ign, consumed: map[string]bool{}, stages: map[string]*stage{}}
	defer r.cleanup()
	id, err := r.build(ctx)
	if err != nil {
		return "", err
	}
	r.warnUnusedArgs()
	fmt.Fprintf(out, "Successfully built %s\n", shortID(id))
	for _, t := range opts.Tags {
		name, err := b.eng.Tag(ctx, id, t)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(out, "Successfully tagged %s\n", name)
	}
	return id, nil
}

func readDockerfile(opts Options) ([]byte, error) {
	if len(opts.DockerfileContent) > 0 {
		return opts.DockerfileContent, nil
	}
	name := opts.Dockerfile
	if name == "" {
		name = "Dockerfile"
	}
	clean := filepath.Clean("/" + name)
	b, err := os.ReadFile(filepath.Join(opts.ContextDir, clean))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("Cannot locate specified Dockerfile: %s: %w", name, errdefs.ErrInvalidArgument)
	}
	if err != nil {
		return nil, fmt.Errorf("read Dockerfile %s: %w", name, err)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil, fmt.Errorf("the Dockerfile (%s) cannot be empty: %w", name, errdefs.ErrInvalidArgument)
	}
	return b, nil
}

// run is one build in progress.
type run struct {
	b        *Builder
	opts     Options
	out      io.Writer
	plan     *plan
	ignore   ignoreMatcher
	step     int
	metaArgs map[string]string // meta ARG values, for FROM lines
	consumed map[string]bool   // --build-arg names some ARG declared
	stages   map[string]*stage // finished stages by name and index
	scratch  []string          // temporary files and dirs to remove
}

func (r *run) build(ctx context.Context) (string, error) {
	r.metaArgs = map[string]string{}
	for i := range r.plan.metaArgs {
		a := &r.plan.metaArgs[i]
		r.printStep(a.String())
		if err := r.metaArg(a); err != nil {
			return "", err
		}
	}
	var last *stage
	for i, s := range r.plan.stages {
		st, err := r.runStage(ctx, i, s)
		if err != nil {
			return "", err
		}
		last = st
	}
	if last == nil {
		return "", fmt.Errorf("no build stage in the Dockerfile: start it with FROM: %w", errdefs.ErrInvalidArgument)
	}
	if last.imageID == "" {
		return "", fmt.Errorf("No image was generated. Is your Dockerfile empty?: %w", errdefs.ErrInvalidArgument)
	}
	return last.imageID, nil
}

func (r *run) runStage(ctx context.Context, index int, s instructions.Stage) (*stage, error) {
	r.printStep(s.SourceCode)
	st, err := r.from(ctx, s)
	if err != nil {
		return nil, err
	}
	for _, cmd := range s.Commands {
		r.printStep(codeOf(cmd))
		if err := r.dispatch(ctx, st, cmd); err != nil {
			return nil, err
		}
		r.printImage(st)
	}
	r.stages[fmt.Sprint(index)] = st
	if s.Name != "" {
		r.stages[strings.ToLower(s.Name)] = st
	}
	return st, nil
}

func (r *run) printStep(code string) {
	r.step++
	fmt.Fprintf(r.out, "Step %d/%d : %s\n", r.step, r.plan.total, code)
}

func (r *run) printImage(st *stage) {
	fmt.Fprintf(r.out, " ---> %s\n", shortID(st.imageID))
}

// warnUnusedArgs prints docker's warning for --build-arg values no ARG
// declared.
func (r *run) warnUnusedArgs() {
	var unused []string
	for k := range r.opts.BuildArgs {
		if !r.consumed[k] && !builtinArgs[k] {
			unused = append(unused, k)
		}
	}
	if len(unused) == 0 {
		return
	}
	sort.Strings(unused)
	fmt.Fprintf(r.out, "[Warning] One or more build-args [%s] were not consumed\n", strings.Join(unused, " "))
}

// builtinArgs are the proxy variables docker accepts without an ARG.
var builtinArgs = map[string]bool{
	"HTTP_PROXY": true, "http_proxy": true, "HTTPS_PROXY": true, "https_proxy": true,
	"FTP_PROXY": true, "ftp_proxy": true, "NO_PROXY": true, "no_proxy": true,
	"ALL_PROXY": true, "all_proxy": true,
}

// codeOf is the instruction as written in the Dockerfile.
func codeOf(cmd instructions.Command) string {
	if s, ok := cmd.(fmt.Stringer); ok {
		return s.String()
	}
	return strings.ToUpper(cmd.Name())
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
