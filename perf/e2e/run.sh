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
if [ -z "${TIERMIRROR_PERF_NO_BUILD:-}" ]; then
  "$REPO/perf/build.sh" "$BUILD_DIR" tiermirror tiermirror_micro tiermirror_perf_clusters tiermirror_classic_mirror
fi
exec python3 "$REPO/perf/e2e/run.py" --build-dir "$BUILD_DIR" "$@"
