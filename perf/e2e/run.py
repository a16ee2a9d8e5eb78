#!/usr/bin/env python3
"""End-to-end benchmark driver: identity mirroring (tiermirror) against a recompressing mirror.

Starts perf/e2e/clusters (source + one target cluster per contender, in a separate process), then runs,
one after the other on the same preloaded data, each contender as a child process in drain mode:
  a  tiermirror run --until-caught-up                  (identity: batches forwarded as fetched)
  b  tiermirror run --until-caught-up --force-repack   (every batch decompressed and recompressed)
  c  classic_mirror (librdkafka consumer + producer, recompressing with the same codec)
--repeat rounds (default 3) of a, b, c in turn, each round into fresh target clusters; the tables show
each contender's medians and the CPU ratios of every round (this shared VM's noise moves single runs a lot).
Then a memory run: tiermirror with limits.total_bytes = --budget, its target going down --stall-at seconds
after the start for --stall seconds, its VmRSS sampled every 100 ms. CPU = user+system of the mirror process only (wait4 rusage).
Writes perf/results/<date>.md, .json and, with gnuplot, .png. Standard library only.
"""
import argparse, datetime, json, os, shutil, statistics, subprocess, sys, tempfile, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MIB = 1024 * 1024
CONTENDERS = (("a", "tiermirror (identity)", "identity"),
              ("b", "tiermirror --force-repack", "repack"),
              ("c", "classic librdkafka mirror", "classic"))
# Measured per run; a contender's summary holds the median of each over its rounds.
MEASURED = ("wall_s", "cpu_user_s", "cpu_sys_s", "cpu_s", "peak_rss_bytes", "minor_faults", "voluntary_switches",
            "broker_cpu_s")


def yaml_list(bootstrap):
    return "[" + ", ".join('"%s"' % b for b in bootstrap.split(",")) + "]"


def write_config(path, name, source, target, total_bytes="512MiB"):
    with open(path, "w") as f:
        f.write(f"""route: {{name: {name}}}
source: {{name: source, bootstrap_servers: {yaml_list(source)}}}
target: {{name: target-{name}, bootstrap_servers: {yaml_list(target)}}}
topics:
  include: [bench]
consumer_group: tiermirror-{name}
commit_interval: 1s
limits: {{total_bytes: {total_bytes}, bytes_per_partition: 8MiB, fetch_max_bytes: 16MiB}}
partition_sync: {{enabled: false}}
metrics: {{listen: ""}}
audit: {{enabled: false}}
logging: {{level: warn}}
""")


def proc_cpu(pid):
    """utime+stime of a live process in seconds (/proc/PID/stat)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def run_child(cmd, log_path, sample_rss=False, on_start=None):
    """Runs cmd, returns wall, cpu user/sys, maxrss and (optionally) the VmRSS samples."""
    samples = []
    t0 = time.monotonic()
    with open(log_path, "w") as log:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True)
    stop = threading.Event()

    def sampler():
        while not stop.is_set():
            try:
                with open(f"/proc/{p.pid}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            samples.append((time.monotonic() - t0, int(line.split()[1]) * 1024))
            except OSError:
                pass
            stop.wait(0.1)

    th = threading.Thread(target=sampler, daemon=True) if sample_rss else None
    if th:
        th.start()
    if on_start:
        on_start(p)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    stop.set()
    if th:
        th.join()
    rc = os.waitstatus_to_exitcode(status)
    return {"rc": rc, "wall_s": wall, "cpu_user_s": ru.ru_utime, "cpu_sys_s": ru.ru_stime,
            "cpu_s": ru.ru_utime + ru.ru_stime, "peak_rss_bytes": ru.ru_maxrss * 1024,
            "minor_faults": ru.ru_minflt, "voluntary_switches": ru.ru_nvcsw,
            "stdout": out.strip(), "rss_samples": samples}


class Clusters:
    def __init__(self, binary, args, log_path):
        self.log = open(log_path, "w")
        self.p = subprocess.Popen([binary] + args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.log, text=True, bufsize=1)
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise SystemExit(f"clusters exited before READY (see {log_path})")
            if line.startswith("READY "):
                self.info = json.loads(line[6:])
                return
            if line.startswith("FAILED"):
                raise SystemExit("clusters: " + line)

    def cmd(self, text):
        self.p.stdin.write(text + "\n")
        self.p.stdin.flush()
        return self.p.stdout.readline().strip()

    def close(self):
        try:
            self.p.stdin.write("quit\n")
            self.p.stdin.close()
            self.p.wait(30)
        except Exception:
            self.p.kill()
        self.log.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=os.path.join(REPO, "build", "perf"))
    ap.add_argument("--bytes", type=float, default=1e9, help="uncompressed volume (default 1e9)")
    ap.add_argument("--codec", default="zstd")
    ap.add_argument("--values", default="events", choices=("events", "letters"),
                    help="record values: realistic clickstream JSON events (default) or the random-letter filler "
                         "that barely compresses (the identity path's worst case)")
    ap.add_argument("--partitions", type=int, default=0, help="default: 1 per 4.5 MB (mock keeps 5 MiB/partition)")
    ap.add_argument("--brokers", type=int, default=1)
    ap.add_argument("--batch-records", type=int, default=5000)
    ap.add_argument("--total-bytes", default="512MiB", help="limits.total_bytes of contenders a and b (the default)")
    ap.add_argument("--budget", default="64MiB", help="limits.total_bytes of the memory run")
    ap.add_argument("--stall", type=float, default=5.0, help="seconds the memory run's target is down")
    ap.add_argument("--stall-at", type=float, default=0.5,
                    help="seconds after the memory run's start its target goes down (default 0.5)")
    ap.add_argument("--repeat", type=int, default=3, help="rounds of a, b, c (medians reported; default 3)")
    ap.add_argument("--no-memory-run", action="store_true")
    ap.add_argument("--out-dir", default=os.path.join(REPO, "perf", "results"))
    ap.add_argument("--name", default=None, help="results file name (default: UTC date and time)")
    ap.add_argument("--replot", metavar="RESULT.json", help="only draw the PNG chart of an earlier result")
    a = ap.parse_args()
    if a.replot:
        res = json.load(open(a.replot))
        png = os.path.splitext(a.replot)[0] + ".png"
        chart(res, png, tempfile.mkdtemp(prefix="tiermirror-e2e-"))
        print(f"[e2e] wrote {png}")
        return 0

    b = a.build_dir
    tm, clusters_bin, classic = (os.path.join(b, "tiermirror"), os.path.join(b, "perf", "tiermirror_perf_clusters"),
                                 os.path.join(b, "perf", "tiermirror_classic_mirror"))
    for x in (tm, clusters_bin, classic):
        if not os.access(x, os.X_OK):
            raise SystemExit(f"missing {x}: build with -DTIERMIRROR_BUILD_PERF=ON (perf/e2e/run.sh does)")
    work = tempfile.mkdtemp(prefix="tiermirror-e2e-")
    os.makedirs(a.out_dir, exist_ok=True)
    name = a.name or datetime.datetime.utcnow().strftime("%Y-%m-%d-%H%M%S")
    t_start = time.monotonic()

    print(f"[e2e] preloading {a.bytes / 1e6:.0f} MB ({a.codec}, {a.values}) into the source ...", flush=True)
    t0 = time.monotonic()
    cl = Clusters(clusters_bin, ["--bytes", str(a.bytes), "--codec", a.codec, "--values", a.values,
                                 "--partitions", str(a.partitions),
                                 "--brokers", str(a.brokers), "--batch-records", str(a.batch_records)],
                  os.path.join(work, "clusters.log"))
    info = cl.info
    preload_s = time.monotonic() - t0
    print(f"[e2e] source holds {info['records']} records, {info['compressed_bytes'] / 1e6:.1f} MB compressed, "
          f"{info['uncompressed_bytes'] / 1e6:.1f} MB uncompressed ({preload_s:.0f} s)", flush=True)
    unc, comp, recs = info["uncompressed_bytes"], info["compressed_bytes"], info["records"]

    runs = {key: [] for key, _, _ in CONTENDERS}
    try:
        for rnd in range(1, a.repeat + 1):
            for key, label, mode in CONTENDERS:
                target = info["targets"][key]
                if rnd > 1:  # a fresh, empty target; a fresh consumer group on the source
                    reply = cl.cmd(f"reset {key}").split()
                    if reply[:2] != ["RESET", key]:
                        raise SystemExit(f"clusters: reset {key}: {' '.join(reply)}")
                    target = reply[2]
                suffix = "" if rnd == 1 else f"-r{rnd}"
                if mode == "classic":
                    cmd = [classic, "--source", info["source"], "--target", target, "--topic", "bench",
                           "--group", f"classic-{key}{suffix}", "--codec", a.codec]
                else:
                    cfg = os.path.join(work, f"{key}{suffix}.yaml")
                    write_config(cfg, f"bench-{key}{suffix}", info["source"], target, a.total_bytes)
                    cmd = [tm, "run", "--config", cfg, "--until-caught-up", "--log-level", "warn"]
                    if mode == "repack":
                        cmd.append("--force-repack")
                print(f"[e2e] round {rnd}/{a.repeat} {key}: {label} ...", flush=True)
                broker_cpu0 = proc_cpu(cl.p.pid)
                r = run_child(cmd, os.path.join(work, f"{key}{suffix}.log"))
                r["broker_cpu_s"] = proc_cpu(cl.p.pid) - broker_cpu0
                count = cl.cmd(f"count {key}")
                r["target_records"] = int(count.split()[2]) if count.startswith("COUNT") else -1
                r.update(round=rnd, cmd=" ".join(cmd))
                del r["rss_samples"]
                if r["rc"] != 0:
                    print(f"[e2e] {key} exited {r['rc']}; log: {os.path.join(work, key + suffix + '.log')}", flush=True)
                print(f"[e2e]   wall {r['wall_s']:.2f} s, cpu {r['cpu_s']:.2f} s ({r['cpu_s'] / (unc / 1e9):.2f} s/GB), "
                      f"peak RSS {r['peak_rss_bytes'] / MIB:.0f} MiB, target records {r['target_records']}/{recs}",
                      flush=True)
                runs[key].append(r)
        contenders = []
        for key, label, mode in CONTENDERS:
            rs = runs[key]
            r = {m: statistics.median(x[m] for x in rs) for m in MEASURED}
            r.update(key=key, label=label, mode=mode, cmd=rs[0]["cmd"], stdout=rs[0]["stdout"],
                     rc=next((x["rc"] for x in rs if x["rc"] != 0), 0),
                     target_records=min(x["target_records"] for x in rs), runs=rs)
            r["mb_per_s_compressed"] = comp / 1e6 / r["wall_s"]
            r["mb_per_s_uncompressed"] = unc / 1e6 / r["wall_s"]
            r["records_per_s"] = recs / r["wall_s"]
            r["cpu_s_per_gb"] = r["cpu_s"] / (unc / 1e9)
            r["cpu_utilisation"] = r["cpu_s"] / r["wall_s"]
            contenders.append(r)
        base = contenders[0]
        for r in contenders:
            r["ratio_cpu_vs_a"] = r["cpu_s"] / base["cpu_s"] if base["cpu_s"] > 0 else None
            r["ratio_wall_vs_a"] = r["wall_s"] / base["wall_s"] if base["wall_s"] > 0 else None
            r["ratio_rss_vs_a"] = r["peak_rss_bytes"] / base["peak_rss_bytes"] if base["peak_rss_bytes"] else None
            # Within one round the contenders ran minutes apart at most: the fairest single ratios.
            r["ratio_cpu_vs_a_rounds"] = [x["cpu_s"] / y["cpu_s"] if y["cpu_s"] > 0 else None
                                          for x, y in zip(r["runs"], base["runs"])]

        memory = None
        if not a.no_memory_run:
            print(f"[e2e] memory run: total_bytes {a.budget}, target down from {a.stall_at:.1f} s for "
                  f"{a.stall:.0f} s ...", flush=True)
            cfg = os.path.join(work, "mem.yaml")
            write_config(cfg, "bench-mem", info["source"], info["targets"]["mem"], a.budget)
            # The target goes down while mirroring is under way: the route has batches in flight and
            # keeps fetching until its budget is full, then must hold still.
            down_timer = threading.Timer(a.stall_at, lambda: cl.cmd("down mem"))
            up_timer = threading.Timer(a.stall_at + a.stall, lambda: cl.cmd("up mem"))
            down_timer.start()
            up_timer.start()
            r = run_child([tm, "run", "--config", cfg, "--until-caught-up", "--log-level", "warn"],
                          os.path.join(work, "mem.log"), sample_rss=True)
            down_timer.join()
            up_timer.join()
            samples = r.pop("rss_samples")
            budget = parse_size(a.budget)
            peak = max([s[1] for s in samples] + [0])
            memory = {"budget_bytes": budget, "stall_s": a.stall, "stall_at_s": a.stall_at, "rc": r["rc"],
                      "wall_s": r["wall_s"],
                      "cpu_s": r["cpu_s"], "peak_vmrss_bytes": peak, "ru_maxrss_bytes": r["peak_rss_bytes"],
                      "limit_bytes": budget + 64 * MIB, "within_limit": peak <= budget + 64 * MIB,
                      "samples": len(samples), "target_records": -1}
            # Flat while stalled: once the budget filled (first half of the stall), RSS should not grow.
            t0, t1 = a.stall_at, a.stall_at + a.stall
            early = [v for t, v in samples if t0 + a.stall * 0.1 <= t < t0 + a.stall * 0.5]
            late = [v for t, v in samples if t0 + a.stall * 0.5 <= t < t1]
            if early and late:
                memory.update(stall_first_half_max_bytes=max(early), stall_second_half_max_bytes=max(late),
                              stall_second_half_min_bytes=min(late))
            count = cl.cmd("count mem")
            memory["target_records"] = int(count.split()[2]) if count.startswith("COUNT") else -1
            with open(os.path.join(work, "mem-rss.tsv"), "w") as f:
                f.writelines(f"{t:.2f}\t{v}\n" for t, v in samples)
            print(f"[e2e]   peak VmRSS {peak / MIB:.0f} MiB vs budget {budget / MIB:.0f} MiB + 64 MiB "
                  f"({'within' if memory['within_limit'] else 'OVER'}), rc {r['rc']}", flush=True)
    finally:
        cl.close()

    result = {"name": name, "date_utc": datetime.datetime.utcnow().isoformat(timespec="seconds") + "Z",
              "machine": {"cpus": os.cpu_count(), "uname": " ".join(os.uname())},
              "data": {k: info[k] for k in ("records", "batches", "compressed_bytes", "uncompressed_bytes",
                                            "partitions", "brokers", "codec", "values")},
              "preload_s": preload_s, "repeat": a.repeat, "contenders": contenders, "memory": memory,
              "total_s": time.monotonic() - t_start, "work_dir": work}
    base_path = os.path.join(a.out_dir, name)
    with open(base_path + ".json", "w") as f:
        json.dump(result, f, indent=2)
    with open(base_path + ".md", "w") as f:
        f.write(markdown(result))
    if shutil.which("gnuplot"):
        chart(result, base_path + ".png", work)
    print(markdown(result))
    print(f"[e2e] wrote {base_path}.md/.json{' and .png' if shutil.which('gnuplot') else ''}; total "
          f"{result['total_s']:.0f} s; logs in {work}")
    bad = [r["key"] for r in contenders if r["rc"] != 0 or r["target_records"] != info["records"]]
    return 1 if bad else 0


def parse_size(s):
    units = {"KiB": 1024, "MiB": MIB, "GiB": 1024 * MIB, "KB": 1000, "MB": 1000 ** 2, "GB": 1000 ** 3}
    for u, m in units.items():
        if s.endswith(u):
            return int(float(s[: -len(u)]) * m)
    return int(s)


def markdown(res):
    d = res["data"]
    lines = [f"# tiermirror e2e benchmark {res['name']}", "",
             f"{d['records']} records, {d['uncompressed_bytes'] / 1e6:.1f} MB uncompressed, "
             f"{d['compressed_bytes'] / 1e6:.1f} MB compressed ({d['codec']}, {d['batches']} batches; values: "
             f"{d.get('values', 'letters')}), "
             f"{d['partitions']} partitions, {d['brokers']} broker(s) per cluster; {res['machine']['cpus']} CPUs. "
             f"Contenders run one after the other on the same data, {res.get('repeat', 1)} round(s) of a, b, c, "
             f"each into fresh targets; brokers in a separate process. Each number is the median over the rounds.", "",
             "| contender | wall s | CPU s (user+sys) | CPU s/GB | MB/s compr. | MB/s uncompr. | records/s | "
             "peak RSS MiB | CPU vs a | wall vs a | broker CPU s | target records |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in res["contenders"]:
        lines.append(f"| {r['key']}: {r['label']} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | {r['cpu_s_per_gb']:.2f} | "
                     f"{r['mb_per_s_compressed']:.0f} | {r['mb_per_s_uncompressed']:.0f} | {r['records_per_s']:.0f} | "
                     f"{r['peak_rss_bytes'] / MIB:.0f} | {r['ratio_cpu_vs_a']:.1f}x | {r['ratio_wall_vs_a']:.1f}x | "
                     f"{r['broker_cpu_s']:.1f} | {r['target_records']}{'' if r['rc'] == 0 else ' (rc ' + str(r['rc']) + ')'} |")
    lines += ["", "CPU vs a within each round: " + "; ".join(
        f"{r['key']}: " + ", ".join(f"{x:.1f}x" for x in r.get("ratio_cpu_vs_a_rounds", []) if x)
        for r in res["contenders"][1:]) + "."]
    m = res.get("memory")
    if m:
        lines += ["", f"Memory run: limits.total_bytes {m['budget_bytes'] / MIB:.0f} MiB, target brokers down for "
                  f"{m['stall_s']:.0f} s from {m.get('stall_at_s', 0):.1f} s after the start; peak VmRSS (100 ms samples) {m['peak_vmrss_bytes'] / MIB:.0f} MiB, "
                  f"ru_maxrss {m['ru_maxrss_bytes'] / MIB:.0f} MiB; limit budget + 64 MiB = "
                  f"{m['limit_bytes'] / MIB:.0f} MiB: {'met' if m['within_limit'] else 'NOT met'}; "
                  f"wall {m['wall_s']:.1f} s, exit {m['rc']}, target records {m['target_records']}."]
        if m["target_records"] > d["records"]:
            lines[-1] += (f" (The target holds {m['target_records'] - d['records']} records more than the source: the "
                          f"connection broke with Produce requests in flight and librdkafka's mock broker appends a "
                          f"resent batch again; real brokers deduplicate idempotent retries by producer id and "
                          f"sequence.)")
        if "stall_second_half_max_bytes" in m:
            lines[-1] += (f" While stalled: VmRSS at most {m['stall_first_half_max_bytes'] / MIB:.0f} MiB in the first "
                          f"half (after 10%), {m['stall_second_half_min_bytes'] / MIB:.0f}-"
                          f"{m['stall_second_half_max_bytes'] / MIB:.0f} MiB in the second.")
    return "\n".join(lines) + "\n"


def chart(res, png, work):
    dat = os.path.join(work, "chart.dat")
    with open(dat, "w") as f:
        for r in res["contenders"]:
            f.write(f"\"{r['key']}: {r['label']}\" {r['cpu_s_per_gb']:.4f} {r['mb_per_s_uncompressed']:.2f}\n")
    script = f"""set terminal pngcairo size 1000,420 noenhanced
set output '{png}'
set multiplot layout 1,2 title 'tiermirror e2e {res['name']} ({res['data']['codec']})'
set style fill solid 0.6
set boxwidth 0.6
set xtics rotate by -20
set title 'CPU seconds per GB (uncompressed), lower is better'
set yrange [0:*]
plot '{dat}' using 0:2:xtic(1) with boxes notitle
set title 'MB/s (uncompressed), higher is better'
plot '{dat}' using 0:3:xtic(1) with boxes notitle
unset multiplot
"""
    r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    if r.returncode != 0:
        # pngcairo missing (gnuplot-nox): fall back to the plain png terminal.
        r = subprocess.run(["gnuplot"], input=script.replace("pngcairo", "png"), text=True, capture_output=True)
        if r.returncode != 0:
            print("[e2e] gnuplot failed: " + r.stderr, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
