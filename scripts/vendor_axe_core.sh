#!/bin/sh
# Vendors axe-core (MPL-2.0), the accessibility rules the browser checks run, into
# tests/browser/vendor/axe-core, so that running them needs no npm. Run from the repository
# root with the version to take:
#   scripts/vendor_axe_core.sh 4.14.1
# Only the built axe.min.js and the licence are kept, unchanged.
set -eu
version="${1:?usage: $0 VERSION}"
out="tests/browser/vendor/axe-core"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "axe-core@$version" >/dev/null && tar xzf "axe-core-$version.tgz")
mkdir -p "$out"
cp "$work/package/axe.min.js" "$out/axe.min.js"
cp "$work/package/LICENSE" "$out/LICENSE"
echo "$version" > "$out/VERSION"
echo "vendored axe-core $version into $out"
