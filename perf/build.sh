#!/bin/sh
# Configures and builds the perf programs into BUILD_DIR (RelWithDebInfo, -DTIERMIRROR_BUILD_PERF=ON, no
# tests; ccache when installed): `perf/build.sh BUILD_DIR TARGET...`. Shared by perf/e2e/run.sh,
# perf/e2e/scale.sh and perf/smoke.sh. JOBS (default 2) sets the parallelism.
set -eu
REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=$1
shift
launcher=""
if command -v ccache >/dev/null 2>&1; then launcher="-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"; fi
cmake -S "$REPO" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTIERMIRROR_BUILD_PERF=ON \
  -DTIERMIRROR_BUILD_TESTS=OFF $launcher >/dev/null
cmake --build "$BUILD_DIR" -j"${JOBS:-2}" --target "$@"
