// Command vzcheck type-checks the vz driver (host/driver/vz) for macOS
// without the macOS SDK: it parses the package and everything it imports
// from source for GOOS=darwin, GOARCH=arm64 (and amd64) with cgo on, using
// go/types with FakeImportC so that cgo's "C" package needs no C compiler.
// A call that does not match the API of the vz module in go.mod
// (github.com/Code-Hex/vz/v3 v3.7.1) is a type error, and vzcheck exits 1.
//
// The package's in-package tests are checked too.
//
// Errors inside dependencies (cgo's C.* references, which FakeImportC
// cannot type) are ignored; only the checked package must be clean.
//
// Usage: go run ./scripts/vzcheck [-arch arm64,amd64] [package dir]
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

func main() {
	arches := flag.String("arch", "arm64,amd64", "GOARCH values to check, comma separated")
	flag.Parse()
	dir := "host/driver/vz"
	if flag.NArg() > 0 {
		dir = flag.Arg(0)
	}
	failed := false
	for _, arch := range strings.Split(*arches, ",") {
		errs, err := Check(Options{Dir: dir, GOOS: "darwin", GOARCH: arch, Tests: true})
		if err != nil {
			fmt.Fprintf(os.Stderr, "vzcheck: %v\n", err)
			os.Exit(2)
		}
		for _, e := range errs {
			fmt.Fprintf(os.Stderr, "%s (darwin/%s)\n", e, arch)
			failed = true
		}
		if len(errs) == 0 {
			fmt.Printf("vzcheck: %s type-checks for darwin/%s with cgo\n", dir, arch)
		}
	}
	if failed {
		os.Exit(1)
	}
}
