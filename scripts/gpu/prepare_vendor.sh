#!/usr/bin/env bash
# Run on a developer machine (it needs Debian's package archive), before a GPU build: the GPU
# machine has Boost 1.83 headers but no Boost.Program_options library and no network. This
# fetches Debian's boost1.83 source package with a private apt configuration (the system's
# apt state is left alone) and keeps only libs/program_options/src/*.cpp and the licence, in
# .vendor/boost_program_options (git-ignored through .git/info/exclude, never committed).
# Then: cmake -DCTQ_VENDOR_PROGRAM_OPTIONS=$PWD/.vendor/boost_program_options ...
set -euo pipefail

root=$(git rev-parse --show-toplevel)
dest="$root/.vendor/boost_program_options"
version=1.83
exclude=$(git -C "$root" rev-parse --git-path info/exclude)
case "$exclude" in /*) ;; *) exclude="$root/$exclude" ;; esac
mkdir -p "$(dirname "$exclude")"
grep -qxF '/.vendor/' "$exclude" 2>/dev/null || echo '/.vendor/' >> "$exclude"

if [ -f "$dest/VERSION" ] && [ "$(cat "$dest/VERSION")" = "$version" ]; then
    echo "prepare_vendor: $dest already holds Boost.Program_options $version"
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/src"
# trixie carries boost1.83; its Release file is also signed with the bookworm archive key.
echo "deb-src http://deb.debian.org/debian trixie main" > "$work/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
          -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache"
          -o "APT::Sandbox::User=root")
apt-get "${apt_opts[@]}" update -qq
(cd "$work/src" && apt-get "${apt_opts[@]}" source --download-only -qq "boost$version")

orig=$(ls "$work"/src/boost"$version"_*.orig.tar.* | head -n1)
echo "prepare_vendor: extracting program_options from $(basename "$orig")"
tar -xf "$orig" -C "$work" --wildcards '*/libs/program_options/src/*.cpp' '*/LICENSE_1_0.txt'
top=$(find "$work" -maxdepth 1 -type d -name 'boost*' ! -name src | head -n1)
rm -rf "$dest"
mkdir -p "$dest/src"
cp "$top"/libs/program_options/src/*.cpp "$dest/src/"
cp "$top/LICENSE_1_0.txt" "$dest/"
echo "$version" > "$dest/VERSION"
echo "prepare_vendor: $(ls "$dest/src" | wc -l) sources in $dest"
