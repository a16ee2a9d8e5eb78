#!/bin/sh
# The end-to-end benchmark in one command: builds tiermirror and the perf programs (Release with debug
# info, -DTIERMIRROR_BUILD_PERF=ON) into $BUILD_DIR (default build/perf), then runs perf/e2e/run.py,
# which writes perf/results/<date>.md, .json (and .png when gnuplot is installed).
#   perf/e2e/run.sh                    # default: real Kafka brokers, 1 GB uncompressed, zstd, 8 partitions
#   perf/e2e/run.sh --mock             # librdkafka mock clusters (no Java), with the memory run
#   perf/e2e/run.sh --bytes 2e8 --codec lz4
# Every argument goes to run.py (run.py --help lists them).
set -eu
REPO=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$REPO/build/perf}
JOBS=${JOBS:-2}
if [ -z "${TIERMIRROR_PERF_NO_BUILD:-}" ]; then
  launcher=""
  if command -v ccache >/dev/null 2>&1; then launcher="-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"; fi
  cmake -S "$REPO" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTIERMIRROR_BUILD_PERF=ON \
    -DTIERMIRROR_BUILD_TESTS=OFF $launcher >/dev/null
  cmake --build "$BUILD_DIR" -j"$JOBS" --target tiermirror tiermirror_micro tiermirror_perf_clusters \
    tiermirror_classic_mirror
fi
exec python3 "$REPO/perf/e2e/run.py" --build-dir "$BUILD_DIR" "$@"
