#!/usr/bin/env bash
# Builds native/pathgen-codecs.c (JPEG and JPEG 2000 tile decoding for the slide reader) into
# .tools/native/pathgen-codecs.node. It links the system's libjpeg-turbo and OpenJPEG (Debian:
# libjpeg62-turbo-dev, libopenjp2-7-dev, which install-tools.sh installs) and Node's own headers
# (include/node beside the node binary; node-gyp is not needed and nothing is downloaded).
# Rebuilds only when the source, the compiler flags or Node's ABI change. Without a compiler or the
# libraries it says so and exits 1: the reader then uses libvips for JPEG and cannot read JPEG 2000.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source_file="$root/native/pathgen-codecs.c"
out_dir="$root/.tools/native"
target="$out_dir/pathgen-codecs.node"
node_bin="$(readlink -f "$(command -v node)")"
include="${PATHGEN_NODE_INCLUDE:-$(dirname "$node_bin")/../include/node}"
cc="${CC:-cc}"
flags=(-O2 -Wall -Werror -shared -fPIC -DNODE_GYP_MODULE_NAME=pathgen_codecs -I"$include" -I/usr/include/openjpeg-2.5)
libs=(-ljpeg -lopenjp2 -lm -lpthread)

say() { printf 'build-native: %s\n' "$*"; }

stamp="$(
  {
    sha256sum "$source_file"
    echo "${flags[*]} ${libs[*]} $(node -p process.versions.modules)"
  } | sha256sum | cut -d' ' -f1
)"
if [ -f "$target" ] && [ "$(cat "$out_dir/.stamp" 2>/dev/null)" = "$stamp" ]; then
  say "pathgen-codecs.node is up to date"
  exit 0
fi
if ! [ -f "$include/node_api.h" ]; then
  say "ERROR: Node's headers are not at $include (set PATHGEN_NODE_INCLUDE)" >&2
  exit 1
fi
for header in /usr/include/jpeglib.h /usr/include/openjpeg-2.5/openjpeg.h; do
  if ! [ -f "$header" ]; then
    say "ERROR: $header is missing: apt-get install libjpeg62-turbo-dev libopenjp2-7-dev" >&2
    exit 1
  fi
done
mkdir -p "$out_dir"
"$cc" "${flags[@]}" "$source_file" "${libs[@]}" -o "$target.part"
mv "$target.part" "$target"
echo "$stamp" >"$out_dir/.stamp"
node -e "console.log('build-native: built ' + require(process.argv[1]).versions())" "$target"
