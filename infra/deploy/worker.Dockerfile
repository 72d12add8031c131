# The pathgen worker image: `pathgen worker --queues cpu|gpu|agents` and every other CLI command.
#
#   docker build -f infra/deploy/worker.Dockerfile --target worker -t pathgen-worker .          # cpu and agents
#   docker build -f infra/deploy/worker.Dockerfile --target worker-gpu -t pathgen-worker-gpu .  # gpu
#
# What a worker needs at run time is what infra/install-tools.sh gives a machine, less the development
# services (Temporal CLI, MinIO) and the test references (python-ref, vips, Debian's OpenSlide 3.4):
# the built project, the native tile decoder with the libjpeg-turbo and OpenJPEG it links, OpenSlide 4
# in .tools/openslide-venv for the formats pathgen converts, CLIP's BPE vocabulary for caption token
# budgets and, in the GPU image only, .tools/train-venv (torch, open_clip) and onnxruntime's CUDA provider.
# Pinned versions come from infra/versions.env, as install-tools.sh reads them.
#
# libvips: not installed. sharp ships its own libvips build (@img/sharp-libvips-linux-x64, from npm),
# and the `vips` command install-tools.sh adds only writes the tests' JPEG 2000 slides.

ARG NODE_VERSION=20

# ---- build: compile TypeScript, the native addon and the Python environments ----------------------
FROM node:${NODE_VERSION}-bookworm AS build
# A failing command anywhere in a pipe fails the step.
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# Headers for infra/build-native.sh (gcc comes with this image); venv and pip for the environments.
# Debian's packages are not pinned (hadolint DL3008): a bookworm point release replaces the old
# versions in its archive, so a pin would break the build, and the base image tag pins the release.
# hadolint ignore=DL3008
RUN apt-get update \
  && apt-get install -y --no-install-recommends libjpeg62-turbo-dev libopenjp2-7-dev python3-venv python3-pip \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app

# Dependencies first, so a source change reuses this layer. --ignore-scripts does what package.json's
# allowScripts does under npm 11 (this image's npm 10 ignores that field): onnxruntime-node's install
# step would download the CUDA provider, which only the GPU image wants (below). Nothing else needs
# its install script: sharp, swc and Temporal's core bridge ship prebuilt binaries as npm packages.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund

COPY tsconfig.json tsconfig.build.json ./
COPY activities activities
COPY workflows workflows
COPY workers workers
COPY native native
COPY infra infra
# build-native.sh compiles against this Node's headers; the runtime stage uses the same Node major,
# and a Node-API addon is ABI-stable across Node versions anyway.
RUN npm run build && bash infra/build-native.sh

# OpenSlide 4 for slide conversion, the same pins as install-tools.sh's .tools/openslide-venv. Built
# with Debian's python3 at the path it keeps in the runtime stage: a venv points at its interpreter.
RUN . infra/versions.env \
  && python3 -m venv .tools/openslide-venv \
  && .tools/openslide-venv/bin/pip install --no-cache-dir --disable-pip-version-check \
    "openslide-bin==$OPENSLIDE_BIN_VERSION" "openslide-python==$OPENSLIDE_PYTHON_VERSION" "pillow==$PILLOW_VERSION" \
  && .tools/openslide-venv/bin/python -c 'import openslide; assert int(openslide.__library_version__.split(".")[0]) >= 4'

# CLIP's BPE vocabulary, taken from the pinned open_clip wheel and checked by sha256, as install-tools.sh does.
RUN . infra/versions.env \
  && mkdir -p /tmp/wheel .tools/clip \
  && python3 -m pip download --quiet --no-deps --only-binary=:all: --dest /tmp/wheel "open_clip_torch==$OPEN_CLIP_VERSION" \
  && python3 -c 'import glob, zipfile; zipfile.ZipFile(glob.glob("/tmp/wheel/*.whl")[0]).extract("open_clip/bpe_simple_vocab_16e6.txt.gz", "/tmp/wheel")' \
  && mv /tmp/wheel/open_clip/bpe_simple_vocab_16e6.txt.gz .tools/clip/ \
  && echo "$CLIP_VOCAB_SHA256  .tools/clip/bpe_simple_vocab_16e6.txt.gz" | sha256sum -c - \
  && rm -rf /tmp/wheel

# Only production dependencies go on. The workflow bundle is made now, into the cache the worker
# looks in (workers/workflow-bundle.ts): a cpu worker polls at start instead of spending 10-20 s of CPU
# in webpack, and it needs no writable node_modules (the pods run on a read-only root filesystem).
RUN npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
  && node --input-type=module -e "const { workflowCodeOption } = await import('./dist/workers/workflow-bundle.js'); \
const option = await workflowCodeOption((message) => { console.error(message); process.exit(1); }); \
if (!('codePath' in option.workflowBundle)) process.exit(1);"

# ---- runtime: what every worker image holds --------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# tini as PID 1: it forwards SIGTERM to node (whose Temporal runtime then drains the workers) and
# reaps the Python children (slide conversion, the trainer) should one outlive its parent. python3
# is the interpreter the venvs point at; libjpeg62-turbo and libopenjp2-7 are what the addon links.
# hadolint ignore=DL3008
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini python3 libjpeg62-turbo libopenjp2-7 ca-certificates \
  && rm -rf /var/lib/apt/lists/* \
  && groupadd --gid 10001 pathgen \
  && useradd --uid 10001 --gid 10001 --create-home --shell /usr/sbin/nologin pathgen \
  && mkdir -p /var/cache/pathgen \
  && chown pathgen:pathgen /var/cache/pathgen
WORKDIR /app
# Owned by root and read-only to the worker: code and tools never change under a running process.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY --from=build /app/infra/openslide-convert.py /app/infra/export-clip-onnx.py infra/
COPY --from=build /app/infra/train infra/train
COPY --from=build /app/.tools/native .tools/native
COPY --from=build /app/.tools/clip .tools/clip
COPY --from=build /app/.tools/openslide-venv .tools/openslide-venv
RUN chmod 755 dist/workers/cli.js && ln -s /app/dist/workers/cli.js /usr/local/bin/pathgen
ENV NODE_ENV=production \
  PYTHONDONTWRITEBYTECODE=1
# A numeric user, so Kubernetes' runAsNonRoot can check it without a runAsUser of its own.
USER 10001:10001
ENTRYPOINT ["/usr/bin/tini", "--", "pathgen"]
CMD ["--help"]

# ---- build-gpu: the training environment and onnxruntime's CUDA provider ---------------------------
FROM build AS build-gpu
# PyPI's Linux torch wheels are the CUDA 12.8 build and bring their own CUDA libraries (nvidia-* wheels),
# which torch finds through its RPATH; the driver (libcuda) comes from the node through the NVIDIA
# container toolkit, so the image needs no CUDA base.
RUN . infra/versions.env \
  && python3 -m venv .tools/train-venv \
  && .tools/train-venv/bin/pip install --no-cache-dir --disable-pip-version-check \
    "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION" "open_clip_torch==$OPEN_CLIP_VERSION" \
    "timm==$TIMM_VERSION" "pillow==$PILLOW_VERSION" "numpy==$NUMPY_VERSION" \
    "webdataset==$WEBDATASET_VERSION" "braceexpand==$BRACEEXPAND_VERSION" "pandas==$PANDAS_VERSION" \
    "onnx==$ONNX_VERSION" "onnxruntime==$ONNXRUNTIME_VERSION" \
  && .tools/train-venv/bin/python -c 'import open_clip, open_clip_train.main, onnxruntime, webdataset'
# The step package.json skips everywhere else (README, "The select stage"): onnxruntime-node's CUDA
# provider libraries, from NuGet ("cuda12" is the script's name for the manifest, whatever CUDA it targets).
RUN ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install
# The CUDA libraries that provider links. onnxruntime 1.27+ builds for CUDA 13 (libcudart.so.13,
# libcublas.so.13, cuDNN 9 for CUDA 13), not torch's CUDA 12, so they are installed apart: the
# [cuda,cudnn] extras of the onnxruntime-gpu wheel of the same release, which follow the version pin.
RUN . infra/versions.env \
  && python3 -m pip install --no-cache-dir --disable-pip-version-check --target /tmp/ort-gpu \
    "onnxruntime-gpu[cuda,cudnn]==$ONNXRUNTIME_VERSION" \
  && mkdir -p .tools/ort-cuda \
  && mv /tmp/ort-gpu/nvidia .tools/ort-cuda/nvidia \
  && rm -rf /tmp/ort-gpu

# ---- worker-gpu: the image for the gpu queue --------------------------------------------------------
FROM runtime AS worker-gpu
COPY --from=build-gpu /app/.tools/train-venv /app/.tools/train-venv
COPY --from=build-gpu /app/.tools/ort-cuda /app/.tools/ort-cuda
COPY --from=build-gpu /app/node_modules/onnxruntime-node/bin /app/node_modules/onnxruntime-node/bin
USER 0
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# The provider's CUDA 13 libraries go into the loader's cache rather than LD_LIBRARY_PATH: the cache
# is searched after a library's own RUNPATH, so torch in the trainer (a child of node, which would
# inherit LD_LIBRARY_PATH) still loads its CUDA 12 cuDNN, whose sonames are the same. The build fails
# here if the provider still misses a library; only libcuda.so.1 may be missing, the driver's.
RUN find /app/.tools/ort-cuda -name 'lib*.so*' -printf '%h\n' | sort -u >/etc/ld.so.conf.d/pathgen-ort-cuda.conf \
  && ldconfig \
  && missing="$(ldd /app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so | grep 'not found' | grep -v 'libcuda\.so\.1' || true)" \
  && if [ -n "$missing" ]; then echo "onnxruntime's CUDA provider is missing: $missing" >&2; exit 1; fi \
  && ldconfig -p | grep 'libcudnn\.so\.9' >/dev/null
USER 10001:10001
# The toolkit mounts the driver's compute libraries only when asked.
ENV NVIDIA_DRIVER_CAPABILITIES=compute,utility

# ---- worker: the image for the cpu and agents queues (the default target, so it comes last) ---------
FROM runtime AS worker
