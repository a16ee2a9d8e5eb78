#!/bin/sh
# CI smoke run of the benchmarks (ctest perf.smoke in the ci preset, or by hand): builds with
# -DTIERMIRROR_BUILD_PERF=ON into build/perf unless SKIP_BUILD=1, runs every
# micro benchmark once (--benchmark_min_time=0.01), the e2e driver on a tiny volume in mock mode (with
# the memory run) and in its default real-broker mode (Apache Kafka brokers from scripts/kafka and
# MirrorMaker 2, one round), and checks that they ran and produced numbers (files exist; JSON has every
# contender with positive CPU and wall time and exactly the source's records on each target). It does
# not judge speed. Real brokers that cannot run here (no Java or Maven, jars unresolvable) skip that
# part with the reason printed, unless TIERMIRROR_WITH_KAFKA=1 (CI): then it is a failure.
set -eu
REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$REPO/build/perf}
OUT=$(mktemp -d "${TMPDIR:-/tmp}/tiermirror-perf-smoke.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
start=$(date +%s)

# From ctest (perf.smoke in the ci preset) the targets are already built: SKIP_BUILD=1.
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  "$REPO/perf/build.sh" "$BUILD_DIR" tiermirror tiermirror_micro tiermirror_perf_clusters tiermirror_classic_mirror
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

python3 "$REPO/perf/e2e/run.py" --build-dir "$BUILD_DIR" --mock --bytes 5000000 --repeat 2 --stall 1 \
  --out-dir "$OUT" --name smoke >"$OUT/e2e.log" 2>&1 || { cat "$OUT/e2e.log"; exit 1; }
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
print(f"perf smoke: e2e mock ok ({recs} records, 3 contenders x 2 rounds, memory run)")
PY

# Real brokers (the default mode): a source and a target Kafka cluster of one broker each, ~3 MB, one
# round of a, b, c and MirrorMaker 2.
real_start=$(date +%s)
rc=0
python3 "$REPO/perf/e2e/run.py" --build-dir "$BUILD_DIR" --bytes 3000000 --partitions 4 --repeat 1 --mm2-repeat 1 \
  --broker-heap 512m --mm2-timeout 120 --out-dir "$OUT" --name real >"$OUT/real.log" 2>&1 || rc=$?
if [ "$rc" = 3 ] && [ "${TIERMIRROR_WITH_KAFKA:-0}" != 1 ]; then
  echo "perf smoke: real brokers unavailable, real-broker e2e SKIPPED (TIERMIRROR_WITH_KAFKA=1 makes this a failure):"
  grep UNAVAILABLE "$OUT/real.log" || tail -5 "$OUT/real.log"
elif [ "$rc" != 0 ]; then
  cat "$OUT/real.log"
  echo "perf smoke: real-broker e2e failed (exit $rc)"
  exit 1
else
  test -s "$OUT/real.md" || { echo "perf smoke: no real.md"; exit 1; }
  python3 - "$OUT/real.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
c = {x["key"]: x for x in r["contenders"]}
recs = r["data"]["records"]
if r.get("mode") != "real" or not recs > 0:
    sys.exit(f"perf smoke: real run bad: mode {r.get('mode')}, {recs} records")
for k in ("a", "b", "c", "d"):
    x = c.get(k)
    if not x or x["rc"] != 0 or not x["cpu_s"] > 0 or not x["wall_s"] > 0 or not x["peak_rss_bytes"] > 0:
        sys.exit(f"perf smoke: real contender {k} bad: {x}")
    if [run["target_records"] for run in x["runs"]] != [recs]:
        sys.exit(f"perf smoke: real contender {k}: target records {[run['target_records'] for run in x['runs']]}, "
                 f"source {recs}")
    if not x["target_broker_cpu_s"] > 0 or not x["source_broker_cpu_s"] > 0:
        sys.exit(f"perf smoke: real contender {k}: no broker CPU measured: {x}")
print(f"perf smoke: e2e real ok (Kafka {r['kafka']['version']}, MirrorMaker 2 {r['kafka'].get('mm2_version')}, "
      f"{recs} records, 4 contenders)")
PY
  echo "perf smoke: real-broker part took $(( $(date +%s) - real_start )) s"
fi
echo "perf smoke: passed in $(( $(date +%s) - start )) s"
