# The certseg CLI (and worker) as a container image, for the Kubernetes Indexed Job that
# `certseg cluster k8s` writes, or for any container runtime:
#   docker build -t certseg .                     # CPU: Node 20 + ONNX Runtime's CPU provider
#   docker build -t certseg:cuda --build-arg CUDA=1 .   # + ONNX Runtime's CUDA 12 provider (run with --gpus)
# Not built or run in this repository's CI: its machines have no container runtime (see docs/cluster.md).
ARG CUDA=0

# CPU base: the official Node 20 image.
FROM node:20-bookworm-slim AS base-cuda0

# CUDA base: CUDA 12 runtime + cuDNN 9 (what onnxruntime-node 1.2x/1.3x's CUDA provider links against),
# with Node 20 from Debian's NodeSource packages.
FROM nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04 AS base-cuda1
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl gnupg \
 && curl -fsSL https://deb.nodesource.com/setup_20.x | bash - \
 && apt-get install -y --no-install-recommends nodejs \
 && rm -rf /var/lib/apt/lists/*

FROM base-cuda${CUDA}
ARG CUDA=0
WORKDIR /opt/certseg
COPY package.json package-lock.json .npmrc ./
# --ignore-scripts: the `prepare` build needs the sources (copied below), and .npmrc skips ORT's CUDA
# download anyway; with CUDA=1, ORT's own install script then fetches the CUDA 12 provider library.
# (TensorFlow.js's native bindings stay uninstalled: the tfjs engine falls back to wasm; ONNX models use ORT.)
RUN npm ci --no-audit --no-fund --ignore-scripts \
 && if [ "$CUDA" = "1" ]; then cd node_modules/onnxruntime-node && ONNXRUNTIME_NODE_INSTALL=cuda12 node script/install.js; fi
COPY . .
# Build the bundles (esbuild is a dev dependency), then drop the dev dependencies.
RUN npm run build && npm prune --omit=dev --ignore-scripts && ln -s /opt/certseg/bin/certseg.js /usr/local/bin/certseg
# `certseg` is on PATH (the manifests call it by name); CUDA_VISIBLE_DEVICES from the runtime picks the GPU.
ENTRYPOINT ["certseg"]
CMD ["--help"]
