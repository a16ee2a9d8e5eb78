#!/bin/sh
# The scale benchmark in one command: builds tiermirror and the preload tool (RelWithDebInfo,
# -DTIERMIRROR_BUILD_PERF=ON) into $BUILD_DIR (default build/perf), then runs perf/e2e/scale.py, which
# writes perf/results/scale-<date>.md and .json.
#   perf/e2e/scale.sh                                  # 5 topics x 2,000 partitions, real Kafka 4.4.0
#   perf/e2e/scale.sh --topics 1 --partitions 1000     # smaller
# Every argument goes to scale.py (scale.py --help lists them). TIERMIRROR_PERF_NO_BUILD=1 skips the build.
set -eu
REPO=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$REPO/build/perf}
if [ -z "${TIERMIRROR_PERF_NO_BUILD:-}" ]; then
  "$REPO/perf/build.sh" "$BUILD_DIR" tiermirror tiermirror_perf_clusters
fi
exec python3 "$REPO/perf/e2e/scale.py" --build-dir "$BUILD_DIR" "$@"
