#!/usr/bin/env bash
# Re-fetch the vendored Cytoscape.js (the HTML map's graph library) from the npm registry.
#
#   scripts/vendor_js.sh            # the version pinned below
#   scripts/vendor_js.sh 3.35.1     # another version (then update VENDOR.md and the pin)
#
# `npm pack` downloads the published tarball and checks it against the registry's
# sha512 integrity; no install scripts run.  Only dist/cytoscape.min.js and LICENSE
# are copied into src/hostmap/data/vendor/.  The sha256 sums printed at the end go
# into src/hostmap/data/vendor/VENDOR.md (tests/render/test_html_page.py checks them).
set -euo pipefail

NAME=cytoscape
VERSION="${1:-3.35.0}"
REGISTRY=https://registry.npmjs.org/

cd "$(dirname "$0")/.."
dest=src/hostmap/data/vendor
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

tarball="$(cd "$tmp" && npm pack --silent --ignore-scripts --registry "$REGISTRY" "$NAME@$VERSION")"
tar -xzf "$tmp/$tarball" -C "$tmp" package/package.json package/LICENSE package/dist/cytoscape.min.js

got="$(node -p 'require(process.argv[1]).version' "$tmp/package/package.json")"
licence="$(node -p 'require(process.argv[1]).license' "$tmp/package/package.json")"
if [ "$got" != "$VERSION" ] || [ "$licence" != "MIT" ]; then
    echo "unexpected package: version $got, licence $licence" >&2
    exit 1
fi
if grep -qiE '</script|<!--' "$tmp/package/dist/cytoscape.min.js"; then
    echo "cytoscape.min.js holds '</script' or '<!--': it cannot be inlined as is" >&2
    exit 1
fi

mkdir -p "$dest"
cp "$tmp/package/dist/cytoscape.min.js" "$dest/cytoscape.min.js"
cp "$tmp/package/LICENSE" "$dest/LICENSE"
echo "$NAME $VERSION ($licence) from ${REGISTRY}$NAME/-/$tarball"
echo "integrity: $(npm view --registry "$REGISTRY" "$NAME@$VERSION" dist.integrity)"
(cd "$dest" && sha256sum cytoscape.min.js LICENSE)
