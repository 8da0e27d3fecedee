#!/bin/sh
# Vendors the built NHS.UK frontend (MIT) into api/assets/nhsuk, so that building Signpost
# needs no npm. Run from the repository root with the version to take:
#   scripts/vendor_nhsuk_frontend.sh 10.6.1
# The stylesheet's @font-face rules load Frutiger from assets.nhs.uk (a licensed font on a
# third-party origin); they are removed, so pages fall back to Arial and load nothing from
# another origin. The source map comments are removed as the maps are not vendored.
set -eu
version="${1:?usage: $0 VERSION}"
out="api/assets/nhsuk"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "nhsuk-frontend@$version" >/dev/null && tar xzf "nhsuk-frontend-$version.tgz")
dist="$work/package/dist/nhsuk"
mkdir -p "$out/images"
rm -f "$out"/nhsuk-frontend-*.min.css "$out"/nhsuk-frontend-*.min.js
sed -e 's/@font-face{[^}]*}//g' -e 's#/\*\# sourceMappingURL=[^*]*\*/##' \
  "$dist/nhsuk-frontend.min.css" > "$out/nhsuk-frontend-$version.min.css"
sed -e 's#//\# sourceMappingURL=.*$##' \
  "$dist/nhsuk-frontend.min.js" > "$out/nhsuk-frontend-$version.min.js"
# Only the icons the stylesheet refers to.
for icon in $(grep -o 'url(/assets/images/[^)]*)' "$out/nhsuk-frontend-$version.min.css" | sort -u | sed 's#url(/assets/images/\(.*\))#\1#'); do
  cp "$dist/assets/images/$icon" "$out/images/$icon"
done
if grep -q 'https\?://' "$out/nhsuk-frontend-$version.min.css"; then
  echo "the stylesheet still refers to another origin" >&2
  exit 1
fi
echo "$version" > "$out/VERSION"
echo "vendored nhsuk-frontend $version into $out"
