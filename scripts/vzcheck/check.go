package main

import (
	"errors"
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"go/types"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Options say what to check.
type Options struct {
	// Dir is the package's directory.
	Dir string
	// GOOS and GOARCH select the files, with cgo on.
	GOOS, GOARCH string
	// Overlay adds or replaces files of the checked package: file name to
	// source (tests feed wrong calls through it).
	Overlay map[string]string
	// Tests also checks the package's in-package _test.go files.
	Tests bool
}

// Check type-checks the package in o.Dir and returns its type errors; err
// is set when the check itself could not run (a package not found, ...).
// Calls are not safe to run concurrently (dependencies are cached).
func Check(o Options) (typeErrs []error, err error) {
	ctx := build.Default
	ctx.GOOS, ctx.GOARCH, ctx.CgoEnabled = o.GOOS, o.GOARCH, true
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	imp := importerFor(ctx)
	bp, err := ctx.ImportDir(dir, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Dir, err)
	}
	if o.Tests {
		bp.GoFiles = append(bp.GoFiles, bp.TestGoFiles...)
	}
	files, err := imp.parse(bp, o.Overlay)
	if err != nil {
		return nil, err
	}
	conf := imp.config(dir, func(e error) { typeErrs = append(typeErrs, e) })
	info := &types.Info{Uses: map[*ast.Ident]types.Object{}}
	_, _ = conf.Check(bp.ImportPath, imp.fset, files, info)
	return append(typeErrs, uncheckable(imp.fset, info)...), nil
}

// vzModule is the import path prefix of the vz module.
const vzModule = "github.com/Code-Hex/vz/"

// uncheckable reports every vz object the package uses whose type is
// invalid: cgo types that FakeImportC cannot see would make calls to it
// unchecked, so such a use is an error rather than a silent pass.
func uncheckable(fset *token.FileSet, info *types.Info) []error {
	var errs []error
	for id, obj := range info.Uses {
		if obj.Pkg() == nil || !strings.HasPrefix(obj.Pkg().Path(), vzModule) {
			continue
		}
		if hasInvalid(obj.Type(), map[types.Type]bool{}) {
			errs = append(errs, fmt.Errorf("%s: %s.%s has a type vzcheck cannot see (cgo); its use is unchecked",
				fset.Position(id.Pos()), obj.Pkg().Name(), obj.Name()))
		}
	}
	return errs
}

// hasInvalid tells whether t mentions the invalid type, looking through
// signatures, pointers, slices, maps, arrays and channels (not into the
// fields of named types, which callers do not touch).
func hasInvalid(t types.Type, seen map[types.Type]bool) bool {
	if t == nil || seen[t] {
		return false
	}
	seen[t] = true
	switch t := t.(type) {
	case *types.Basic:
		return t.Kind() == types.Invalid
	case *types.Pointer:
		return hasInvalid(t.Elem(), seen)
	case *types.Slice:
		return hasInvalid(t.Elem(), seen)
	case *types.Array:
		return hasInvalid(t.Elem(), seen)
	case *types.Chan:
		return hasInvalid(t.Elem(), seen)
	case *types.Map:
		return hasInvalid(t.Key(), seen) || hasInvalid(t.Elem(), seen)
	case *types.Signature:
		return hasInvalid(t.Params(), seen) || hasInvalid(t.Results(), seen)
	case *types.Tuple:
		for i := 0; i < t.Len(); i++ {
			if hasInvalid(t.At(i).Type(), seen) {
				return true
			}
		}
	}
	return false
}

// importers caches the dependencies type-checked for each GOOS/GOARCH, so
// that checking several variants of a package (tests) loads them once.
var (
	importersMu sync.Mutex
	importers   = map[string]*importer{}
)

func importerFor(ctx build.Context) *importer {
	importersMu.Lock()
	defer importersMu.Unlock()
	key := ctx.GOOS + "/" + ctx.GOARCH
	if im, ok := importers[key]; ok {
		return im
	}
	im := &importer{ctx: ctx, fset: token.NewFileSet(), pkgs: map[string]*types.Package{}}
	importers[key] = im
	return im
}

// importer type-checks imported packages from source, for ctx. It is not
// safe for concurrent use.
type importer struct {
	ctx  build.Context
	fset *token.FileSet
	pkgs map[string]*types.Package // by directory
}

func (im *importer) config(dir string, onErr func(error)) *types.Config {
	return &types.Config{
		Importer:    importerFrom{im: im, dir: dir},
		FakeImportC: true,
		Error:       onErr,
		Sizes:       types.SizesFor("gc", im.ctx.GOARCH),
	}
}

type importerFrom struct {
	im  *importer
	dir string
}

func (f importerFrom) Import(path string) (*types.Package, error) {
	return f.ImportFrom(path, f.dir, 0)
}

func (f importerFrom) ImportFrom(path, dir string, _ types.ImportMode) (*types.Package, error) {
	return f.im.load(path, dir)
}

// load type-checks the package path as imported from srcDir, ignoring its
// own type errors (see the package comment).
func (im *importer) load(path, srcDir string) (*types.Package, error) {
	if path == "unsafe" {
		return types.Unsafe, nil
	}
	bp, err := im.ctx.Import(path, srcDir, 0)
	if err != nil {
		return nil, err
	}
	if p, ok := im.pkgs[bp.Dir]; ok {
		if p == nil {
			return nil, fmt.Errorf("import cycle through %s", path)
		}
		return p, nil
	}
	im.pkgs[bp.Dir] = nil
	files, err := im.parse(bp, nil)
	if err != nil {
		return nil, err
	}
	conf := im.config(bp.Dir, func(error) {})
	p, _ := conf.Check(bp.ImportPath, im.fset, files, nil)
	if p == nil {
		return nil, fmt.Errorf("cannot type-check %s", path)
	}
	p.MarkComplete()
	im.pkgs[bp.Dir] = p
	return p, nil
}

// parse parses the package's Go and cgo files for the context, with the
// overlay applied.
func (im *importer) parse(bp *build.Package, overlay map[string]string) ([]*ast.File, error) {
	names := append(append([]string{}, bp.GoFiles...), bp.CgoFiles...)
	for name := range overlay {
		if !contains(names, name) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var files []*ast.File
	for _, name := range names {
		path := filepath.Join(bp.Dir, name)
		var src any
		if s, ok := overlay[name]; ok {
			src = s
		}
		f, err := parser.ParseFile(im.fset, path, src, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		return nil, errors.New(bp.ImportPath + ": no Go files for " + im.ctx.GOOS + "/" + im.ctx.GOARCH)
	}
	return files, nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
