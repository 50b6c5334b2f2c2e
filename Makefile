# berth — developer entry points. `make help` lists them.
GO        ?= go
BIN       ?= bin
PKGS      ?= ./...
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X github.com/berth-dev/berth/proto/version.Version=$(VERSION)
PROTOS    := $(wildcard proto/agent/v1/*.proto)

.PHONY: help build test e2e bench proto proto-check lint vet cross vzcheck release clean

help: ## list targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

build: ## build berth and berth-agent into ./bin
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

test: build ## unit + root tests + end-to-end tests (root-only ones skip when not root)
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m $(PKGS)

e2e: build ## end-to-end tests only (native driver)
	$(GO) test -count=1 -timeout 20m ./scripts/e2e/...

bench: build ## speed scripts that compare against a same-run baseline
	./scripts/bench-pull

proto: ## regenerate the Go and ttrpc code from proto/agent/v1/*.proto
	protoc -I proto -I /usr/include \
	  --go_out=. --go_opt=module=github.com/berth-dev/berth \
	  --go-ttrpc_out=. --go-ttrpc_opt=module=github.com/berth-dev/berth,prefix=TTRPC \
	  $(PROTOS)

proto-check: proto ## fail when the committed generated code is stale
	git diff --exit-code -- proto/

lint: vet ## vet + golangci-lint when installed
	@command -v golangci-lint >/dev/null && golangci-lint run ./... || echo "golangci-lint not installed; ran go vet only"

vet:
	$(GO) vet ./...

cross: vzcheck ## the other platforms stay green
	GOOS=windows $(GO) build ./... && GOOS=windows $(GO) vet ./...
	@# the Windows-only unit tests must link, not only type-check
	d=$$(mktemp -d) && GOOS=windows $(GO) test -c -o $$d $$(find . -name '*_windows_test.go' -exec dirname {} \; | sort -u) && rm -rf $$d
	GOOS=darwin CGO_ENABLED=0 $(GO) build ./... && GOOS=darwin CGO_ENABLED=0 $(GO) vet ./...

vzcheck: ## type-check the vz driver for darwin with cgo, without the macOS SDK
	$(GO) run ./scripts/vzcheck host/driver/vz

release: ## release archives with VM images and completions into dist/ (packaging/release.sh)
	VERSION=$(VERSION) packaging/release.sh

clean:
	rm -rf $(BIN)
