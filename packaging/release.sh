#!/bin/sh
# Build the release archives into dist/: berth for darwin/arm64,
# darwin/amd64, windows/amd64, windows/arm64, linux/amd64 and linux/arm64,
# each with the VM image of its architecture (vmimage/, from
# cmd/berth-vmimage) and shell completions. Run by `make release`.
#
# darwin needs cgo (the vz driver) and so a Mac with Xcode; elsewhere the
# darwin archives are skipped with a message unless FORCE_NOCGO_DARWIN=1
# (a build without the vz driver, which then reports how to get one).
set -eu
VERSION=${VERSION:?set VERSION}
DIST=${DIST:-dist}
VMIMAGES=${VMIMAGES:-$DIST/vmimage} # $VMIMAGES/<arch>/{kernel,initramfs,manifest.json}
LDFLAGS="-s -w -X github.com/berth-dev/berth/proto/version.Version=$VERSION"
mkdir -p "$DIST"

build() { # goos goarch cgo
  goos=$1 goarch=$2 cgo=$3
  name=berth_${VERSION#v}_${goos}_${goarch}
  out=$DIST/$name
  rm -rf "$out" && mkdir -p "$out/completions"
  exe=berth; [ "$goos" = windows ] && exe=berth.exe
  GOOS=$goos GOARCH=$goarch CGO_ENABLED=$cgo go build -trimpath -ldflags "$LDFLAGS" -o "$out/$exe" ./cmd/berth
  if [ "$goos" = darwin ] && [ "$(uname -s)" = Darwin ]; then packaging/macos/sign.sh "$out/$exe"; fi
  # berth-vmimage beside berth: `machine init --image REF` runs it to fetch VM images.
  GOOS=$goos GOARCH=$goarch CGO_ENABLED=0 go build -trimpath -ldflags "$LDFLAGS" -o "$out/" ./cmd/berth-vmimage
  if [ -d "$VMIMAGES/$goarch" ]; then cp -R "$VMIMAGES/$goarch" "$out/vmimage"; else echo "warning: no VM image for $goarch in $VMIMAGES" >&2; fi
  host=$(go env GOOS)/$(go env GOARCH)
  bin=$out/$exe
  if [ "$goos/$goarch" != "$host" ]; then bin=$DIST/.host-berth; go build -o "$bin" ./cmd/berth; fi
  for sh in bash zsh fish; do "$bin" completion $sh > "$out/completions/berth.$sh"; done
  "$bin" completion powershell > "$out/completions/berth.ps1"
  if [ "$goos" = windows ]; then (cd "$DIST" && zip -qr "$name.zip" "$name"); else tar -C "$DIST" -czf "$DIST/$name.tar.gz" "$name"; fi
  echo "built $DIST/$name"
}

for t in linux/amd64/0 linux/arm64/0 windows/amd64/0 windows/arm64/0; do
  IFS=/ read -r goos goarch cgo <<EOT
$t
EOT
  build "$goos" "$goarch" "$cgo"
done
for arch in arm64 amd64; do
  if [ "$(uname -s)" = Darwin ]; then build darwin $arch 1
  elif [ "${FORCE_NOCGO_DARWIN:-}" = 1 ]; then build darwin $arch 0
  else echo "skipping darwin/$arch: needs a Mac (cgo + macOS SDK for the vz driver)" >&2; fi
done
(cd "$DIST" && sha256sum ./*.tar.gz ./*.zip > checksums.txt 2>/dev/null || shasum -a 256 ./*.tar.gz ./*.zip > checksums.txt)
