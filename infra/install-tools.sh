#!/usr/bin/env bash
# Installs the real services and system packages pathgen needs, at pinned versions, into .tools/bin
# (gitignored). Idempotent: what is already there at the pinned version is skipped.
#
#   infra/install-tools.sh            Temporal CLI, MinIO, CLIP's BPE vocabulary, Debian packages (vips, OpenSlide, PIL),
#                                     .tools/openslide-venv (OpenSlide 4 for slide conversion; ~55 MB), and
#                                     .tools/python-ref (numpy, scikit-learn: the eval tests' reference; OpenSlide 4
#                                     (openslide-bin), wsidicomizer, tifffile, imagecodecs, pydicom: the slide tests'; ~500 MB)
#   infra/install-tools.sh --no-apt   skip the Debian packages (e.g. no root)
#   infra/install-tools.sh --train    also .tools/train-venv: torch, open_clip and its trainer, onnxruntime, from PyPI
#                                     (CUDA wheels that also run on CPU; ~7 GB, a few minutes). The train stage and
#                                     its tests run $PATHGEN_TRAIN_PYTHON, default .tools/train-venv/bin/python.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=versions.env
source "$root/infra/versions.env"
bin="$root/.tools/bin"
mkdir -p "$bin"

with_apt=1
with_train=0
for arg in "$@"; do
  case "$arg" in
    --no-apt) with_apt=0 ;;
    --train) with_train=1 ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "install-tools: unknown option $arg" >&2; exit 2 ;;
  esac
done

say() { printf 'install-tools: %s\n' "$*"; }

# A stamp next to each binary records the version it was built from: `go install` builds report
# "0.0.0-DEV" as their own version, so the binary cannot tell us.
stamped() { [ -x "$bin/$1" ] && [ "$(cat "$bin/.$1.version" 2>/dev/null)" = "$2" ]; }

go_install() { # name module version
  local name=$1 module=$2 version=$3
  if stamped "$name" "$version"; then
    say "$name $version already installed in .tools/bin"
    return
  fi
  if ! command -v go >/dev/null; then
    say "ERROR: Go is needed to build $name ($module@$version); install Go 1.24+ and rerun" >&2
    exit 1
  fi
  say "building $name $version with go install (a few minutes the first time; cached afterwards) ..."
  local started=$SECONDS
  GOBIN="$bin" GOFLAGS="${GOFLAGS:--buildvcs=false}" go install "$module@$version"
  echo "$version" >"$bin/.$name.version"
  say "$name built in $((SECONDS - started)) s"
}

# Temporal CLI: an existing `temporal` on PATH is fine when it is 1.5 or newer.
existing_temporal="$(command -v temporal || true)"
if [ -n "$existing_temporal" ] && [ "$existing_temporal" != "$bin/temporal" ] && ! stamped temporal "$TEMPORAL_CLI_VERSION"; then
  v="$("$existing_temporal" --version 2>/dev/null | sed -n 's/^temporal version \([0-9][0-9]*\)\.\([0-9][0-9]*\).*/\1 \2/p')"
  if [ -n "$v" ] && [ "${v% *}" -ge 1 ] && { [ "${v% *}" -gt 1 ] || [ "${v#* }" -ge 5 ]; }; then
    say "using the Temporal CLI on PATH: $existing_temporal ($("$existing_temporal" --version))"
    ln -sf "$existing_temporal" "$bin/temporal"
    echo "$TEMPORAL_CLI_VERSION" >"$bin/.temporal.version"
  fi
fi
go_install temporal "$TEMPORAL_CLI_MODULE" "$TEMPORAL_CLI_VERSION"
go_install minio "$MINIO_MODULE" "$MINIO_VERSION"

# CLIP's BPE vocabulary: captions must fit CLIP's 77-token context, counted with the real tokenizer.
vocab="$root/.tools/clip/bpe_simple_vocab_16e6.txt.gz"
if [ -f "$vocab" ] && [ "$(sha256sum "$vocab" | cut -d' ' -f1)" = "$CLIP_VOCAB_SHA256" ]; then
  say "CLIP vocabulary present in .tools/clip"
else
  python="$(command -v python3 || echo /usr/bin/python3)"
  say "fetching CLIP's BPE vocabulary from the open_clip_torch $OPEN_CLIP_VERSION wheel (PyPI, 1.5 MB) ..."
  wheel_dir="$(mktemp -d)"
  "$python" -m pip download --quiet --no-deps --only-binary=:all: --dest "$wheel_dir" "open_clip_torch==$OPEN_CLIP_VERSION"
  mkdir -p "$(dirname "$vocab")"
  "$python" - "$wheel_dir" "$vocab" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/open_clip_torch-*.whl")[0]
with zipfile.ZipFile(wheel) as archive, open(sys.argv[2] + ".part", "wb") as out:
    out.write(archive.read("open_clip/bpe_simple_vocab_16e6.txt.gz"))
PY
  rm -rf "$wheel_dir"
  if [ "$(sha256sum "$vocab.part" | cut -d' ' -f1)" != "$CLIP_VOCAB_SHA256" ]; then
    say "ERROR: the CLIP vocabulary from open_clip_torch $OPEN_CLIP_VERSION has an unexpected sha256" >&2
    exit 1
  fi
  mv "$vocab.part" "$vocab"
fi

if [ "$with_apt" = 1 ]; then
  missing=()
  command -v vips >/dev/null || missing+=(libvips-tools)
  command -v openslide-show-properties >/dev/null || missing+=(openslide-tools)
  /usr/bin/python3 -c 'import openslide' 2>/dev/null || missing+=(python3-openslide)
  # PIL is the reference the CLIP preprocessing tests compare our resize with.
  /usr/bin/python3 -c 'import PIL' 2>/dev/null || missing+=(python3-pil)
  # wsidicomizer's SVS reader (opentile) loads libturbojpeg through PyTurboJPEG to copy JPEG tiles.
  ldconfig -p 2>/dev/null | grep -q 'libturbojpeg\.so\.0' || missing+=(libturbojpeg0)
  # The native tile codecs (infra/build-native.sh) link these.
  [ -f /usr/include/jpeglib.h ] || missing+=(libjpeg62-turbo-dev)
  [ -f /usr/include/openjpeg-2.5/openjpeg.h ] || missing+=(libopenjp2-7-dev)
  command -v cc >/dev/null || missing+=(gcc)
  # The review web app's browser tests drive Debian's Chromium with playwright-core.
  command -v chromium >/dev/null || missing+=(chromium)
  if [ "${#missing[@]}" -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    sudo_cmd=""
    [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    say "Debian packages present: vips, openslide-tools, python3-openslide, python3-pil, libjpeg-turbo and OpenJPEG headers, chromium"
  fi
fi

if ! command -v chromium >/dev/null; then
  say "WARNING: chromium is missing: the review app's browser tests need it (apt-get install chromium)"
fi

# The native JPEG / JPEG 2000 tile decoder. Without it slides still read (JPEG through libvips,
# several times slower) but JPEG 2000 SVS and DICOM do not; with apt it must build.
if ! bash "$root/infra/build-native.sh"; then
  if [ "$with_apt" = 1 ]; then
    say "ERROR: the native tile decoder did not build" >&2
    exit 1
  fi
  say "WARNING: the native tile decoder did not build; JPEG slides read through libvips, JPEG 2000 and DICOM J2K do not read"
fi

# A virtual environment with pinned packages. Its stamp records the pins it was installed with, so
# a rerun with the same pins costs nothing and changed pins are installed into the existing
# environment (pip replaces only what differs) instead of rebuilding gigabytes.
python_venv() { # dir label pins...
  local dir=$1 label=$2
  shift 2
  local pins="$*" stamp="$dir/.pathgen-pins"
  if [ -x "$dir/bin/python" ] && "$dir/bin/python" -c '' 2>/dev/null && [ "$(cat "$stamp" 2>/dev/null)" = "$pins" ]; then
    say "$label present in ${dir#"$root"/}"
    return
  fi
  local python started=$SECONDS
  python="$(command -v python3 || true)"
  # numpy 2.4 and torch 2.9 publish wheels for Python 3.11 and newer only.
  if [ -z "$python" ] || ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    say "ERROR: python3 3.11 or newer is needed for ${dir#"$root"/}; install it and rerun" >&2
    exit 1
  fi
  if ! [ -x "$dir/bin/python" ] || ! "$dir/bin/python" -c '' 2>/dev/null; then
    rm -rf "$dir"
    if ! "$python" -m venv "$dir"; then
      say "ERROR: '$python -m venv' failed; on Debian or Ubuntu install python3-venv and rerun" >&2
      exit 1
    fi
  fi
  say "installing $label into ${dir#"$root"/}: $pins ..."
  rm -f "$stamp"
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "$@"
  echo "$pins" >"$stamp"
  say "$label installed in $((SECONDS - started)) s ($(du -sh "$dir" | cut -f1))"
}

python_venv "$root/.tools/python-ref" "the Python reference environment" \
  "numpy==$NUMPY_VERSION" "scikit-learn==$SCIKIT_LEARN_VERSION" \
  "openslide-bin==$OPENSLIDE_BIN_VERSION" "openslide-python==$OPENSLIDE_PYTHON_VERSION" \
  "wsidicomizer==$WSIDICOMIZER_VERSION" "wsidicom==$WSIDICOM_VERSION" "opentile==$OPENTILE_VERSION" \
  "tifffile==$TIFFFILE_VERSION" "imagecodecs==$IMAGECODECS_VERSION" "pydicom==$PYDICOM_VERSION" \
  "pillow==$PILLOW_VERSION"
# The slide tests compare with OpenSlide 4 from this environment (openslide-bin), not the system's 3.4.
"$root/.tools/python-ref/bin/python" -c 'import openslide, wsidicomizer, tifffile, imagecodecs, pydicom
assert int(openslide.__library_version__.split(".")[0]) >= 4, openslide.__library_version__' ||
  { say "ERROR: the Python reference environment does not import OpenSlide 4; delete .tools/python-ref and rerun" >&2; exit 1; }

# Slide conversion (activities/wsi/slide-conversion.ts) runs infra/openslide-convert.py here: OpenSlide 4
# from openslide-bin's wheel, so every machine that converts NDPI, MRXS, SCN, ... has the same
# OpenSlide whatever its distribution ships (Debian's is 3.4). Small (~55 MB), so not behind --train.
python_venv "$root/.tools/openslide-venv" "the OpenSlide 4 converter environment" \
  "openslide-bin==$OPENSLIDE_BIN_VERSION" "openslide-python==$OPENSLIDE_PYTHON_VERSION" "pillow==$PILLOW_VERSION"
"$root/.tools/openslide-venv/bin/python" -c 'import openslide, PIL
assert int(openslide.__library_version__.split(".")[0]) >= 4, openslide.__library_version__' ||
  { say "ERROR: .tools/openslide-venv does not import OpenSlide 4; delete it and rerun" >&2; exit 1; }

if [ "$with_train" = 1 ]; then
  python_venv "$root/.tools/train-venv" "the training environment" \
    "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION" "open_clip_torch==$OPEN_CLIP_VERSION" \
    "timm==$TIMM_VERSION" "pillow==$PILLOW_VERSION" "numpy==$NUMPY_VERSION" \
    "webdataset==$WEBDATASET_VERSION" "braceexpand==$BRACEEXPAND_VERSION" "pandas==$PANDAS_VERSION" \
    "onnx==$ONNX_VERSION" "onnxruntime==$ONNXRUNTIME_VERSION"
  # The trainer imports these at start-up: a broken install shows here, not an hour into a run.
  "$root/.tools/train-venv/bin/python" -c 'import open_clip, open_clip_train.main, onnxruntime, webdataset' ||
    { say "ERROR: the training environment does not import; delete .tools/train-venv and rerun" >&2; exit 1; }
fi

say "done: $("$bin/temporal" --version | head -1); minio $MINIO_VERSION; $(vips --version 2>/dev/null || echo 'vips missing')"
