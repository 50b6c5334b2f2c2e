#!/bin/sh
# Sign berth with the Virtualization.framework entitlement; the vz driver
# cannot start a VM without it. With no identity this is an ad-hoc
# signature, which is what local builds need:
#   packaging/macos/sign.sh bin/berth
# Releases pass a Developer ID: SIGN_IDENTITY="Developer ID Application: ..."
set -eu
bin=${1:?usage: sign.sh path/to/berth}
here=$(cd "$(dirname "$0")" && pwd)
codesign --force --options runtime -s "${SIGN_IDENTITY:--}" \
  --entitlements "$here/berth.entitlements" "$bin"
codesign -d --entitlements - "$bin" | grep -q com.apple.security.virtualization
echo "signed $bin"
