#!/bin/sh
# CI smoke run of the benchmarks (ctest perf.smoke in the ci preset, or by hand): builds with
# -DTIERMIRROR_BUILD_PERF=ON into build/perf unless SKIP_BUILD=1, runs every
# micro benchmark once (--benchmark_min_time=0.01) and the e2e driver on a tiny volume, and checks that
# they ran and produced numbers (files exist; JSON has the three contenders with positive CPU and wall
# time and every record on each target). It does not judge speed.
set -eu
REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$REPO/build/perf}
OUT=$(mktemp -d "${TMPDIR:-/tmp}/tiermirror-perf-smoke.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
start=$(date +%s)

# From ctest (perf.smoke in the ci preset) the targets are already built: SKIP_BUILD=1.
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  cmake -S "$REPO" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTIERMIRROR_BUILD_PERF=ON \
    -DTIERMIRROR_BUILD_TESTS=OFF >/dev/null
  cmake --build "$BUILD_DIR" -j"${JOBS:-2}" --target tiermirror tiermirror_micro tiermirror_perf_clusters \
    tiermirror_classic_mirror
fi

"$BUILD_DIR/perf/tiermirror_micro" --benchmark_min_time=0.01 --benchmark_format=json \
  --benchmark_out="$OUT/micro.json" >/dev/null
python3 - "$OUT/micro.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))["benchmarks"]
bad = [x["name"] for x in b if x.get("error_occurred") or not x.get("bytes_per_second", 0) > 0]
names = {x["name"].split("/")[0] for x in b}
need = {"BM_Crc32c", "BM_SplitFixture", "BM_RewriteHeader", "BM_EncodeProduce", "BM_RepackFixture", "BM_RepackLarge"}
if bad or not need <= names:
    sys.exit(f"micro benchmarks: failed {bad}, missing {sorted(need - names)}")
print(f"perf smoke: {len(b)} micro benchmarks ran")
PY

python3 "$REPO/perf/e2e/run.py" --build-dir "$BUILD_DIR" --bytes 5000000 --repeat 2 --stall 1 --out-dir "$OUT" \
  --name smoke >"$OUT/e2e.log" 2>&1 || { cat "$OUT/e2e.log"; exit 1; }
test -s "$OUT/smoke.md" || { echo "perf smoke: no smoke.md"; exit 1; }
python3 - "$OUT/smoke.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
c = {x["key"]: x for x in r["contenders"]}
recs = r["data"]["records"]
for k in ("a", "b", "c"):
    x = c.get(k)
    if not x or x["rc"] != 0 or not x["cpu_s"] > 0 or not x["wall_s"] > 0 or x["target_records"] != recs:
        sys.exit(f"perf smoke: contender {k} bad: {x}")
    # Two rounds, the second into a reset target: each delivered everything.
    if [run["target_records"] for run in x["runs"]] != [recs, recs]:
        sys.exit(f"perf smoke: contender {k} rounds bad: {x['runs']}")
m = r.get("memory")
if not m or m["rc"] != 0 or not m["peak_vmrss_bytes"] > 0:
    sys.exit(f"perf smoke: memory run bad: {m}")
print(f"perf smoke: e2e ok ({recs} records, 3 contenders x 2 rounds, memory run)")
PY
echo "perf smoke: passed in $(( $(date +%s) - start )) s"
