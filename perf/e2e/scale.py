#!/usr/bin/env python3
"""Scale benchmark: tiermirror with many partitions (default 5 topics x 2,000 = 10,000) on real Apache Kafka.

Starts one source and one target broker (scripts/kafka, as run.py's real mode, with a larger heap: a
4.4.0 broker with 512m died of OutOfMemoryError at 10,000 partitions), preloads the topics bench-0..N-1
through perf/e2e/clusters (--topics), then runs `tiermirror run` with its metrics listener on a free
port and samples /metrics and /proc every --sample seconds:

  1 start-up  fresh, empty target, new consumer group: time from the process start to the partitions
              known (metadata), ready (/readyz), first batch acknowledged by the target, every partition
              running, caught up (every partition running, lag 0, every record acknowledged); then
              steady VmRSS against limits.total_bytes + 64 MiB and idle CPU over --idle seconds
              (nothing to mirror, no scrapes); then SIGTERM (final commit).
  2 restart   --restart-bytes more data produced over every partition, then the same group again: the
              exactly-once resume of partitions with committed offsets and data in the target; same
              timings.
  3 CPU/GB    target topics deleted and recreated, a new group: the whole volume at --topics x
              --partitions, then the same volume in one topic of --small-partitions (source re-preloaded);
              CPU s (/proc, when caught up) per compressed GB for both and their ratio.
The brokers' CPU (/proc, source and target JVMs) is given beside every phase. Writes
perf/results/scale-<UTC date-time>.md and .json. Standard library only; stops the brokers and removes
their data at the end, on failure, Ctrl-C or SIGTERM.
Exit status: 0 done, 1 a phase failed (timed out, process died), 3 Kafka unavailable.
"""
import argparse, datetime, json, os, re, signal, socket, subprocess, sys, tempfile, threading, time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run as e2e  # noqa: E402  (RealKafka, Clusters, proc_cpu, proc_status, parse_size)

REPO = e2e.REPO
MIB = e2e.MIB
LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)')
LABEL = re.compile(r'(\w+)="([^"]*)"')


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(path, name, group, source, target, port, total_bytes, log_level, commit_interval):
    with open(path, "w") as f:
        f.write(f"""route: {{name: {name}}}
source: {{name: source, bootstrap_servers: {e2e.yaml_list(source)}}}
target: {{name: target, bootstrap_servers: {e2e.yaml_list(target)}}}
topics:
  include: [{{regex: 'bench(-[0-9]+)?'}}]
consumer_group: {group}
commit_interval: {commit_interval}
limits: {{total_bytes: {total_bytes}}}
partition_sync: {{replication_factor: 1}}
metrics: {{listen: "127.0.0.1:{port}", per_partition_labels: false}}
audit: {{enabled: false}}
logging: {{level: {log_level}}}
""")


def scrape(port):
    """Sums of the series of interest from /metrics, or None while the listener is not up."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
    except Exception:
        return None
    m = {"states": {}, "ready": 0.0, "batches": 0.0, "records": 0.0, "bytes": 0.0, "lag": 0.0, "paused": 0.0,
         "buffered": 0.0}
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        g = LINE.match(line)
        if not g:
            continue
        name, labels, value = g.group(1), dict(LABEL.findall(g.group(2) or "")), float(g.group(3))
        if name == "tiermirror_partitions":
            m["states"][labels.get("state", "?")] = m["states"].get(labels.get("state", "?"), 0) + value
        elif name == "tiermirror_ready":
            m["ready"] = value
        elif name == "tiermirror_mirrored_batches_total":
            m["batches"] += value
        elif name == "tiermirror_mirrored_records_total":
            m["records"] += value
        elif name == "tiermirror_mirrored_bytes_total":
            m["bytes"] += value
        elif name == "tiermirror_lag_records":
            m["lag"] += value
        elif name == "tiermirror_buffered_bytes":
            m["buffered"] = value
    return m


class Phase:
    """One `tiermirror run`: started, sampled until caught up, optionally left idle, then stopped."""

    def __init__(self, a, kafka, tm, cfg, work, tag, port, partitions, expect_records):
        self.a, self.kafka, self.tag, self.port = a, kafka, tag, port
        self.partitions, self.expect = partitions, expect_records
        self.samples, self.events, self.result = [], {}, {"phase": tag, "partitions": partitions,
                                                         "expected_records": expect_records}
        self.log_path = os.path.join(work, f"{tag}.log")
        self.broker0 = {n: kafka.cpu(n) for n in ("source", "target")}
        self.t0 = time.monotonic()
        with open(self.log_path, "w") as log:
            self.p = subprocess.Popen([tm, "run", "--config", cfg], stdout=log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL)

    def now(self):
        return time.monotonic() - self.t0

    def mark(self, key, cond):
        if cond and key not in self.events:
            self.events[key] = round(self.now(), 3)
            print(f"[scale] {self.tag}: {key} at {self.events[key]:.2f} s", flush=True)

    def watch(self):
        """Samples every a.sample s until caught up; returns True when it was, False on timeout/exit."""
        while True:
            t = self.now()
            if self.p.poll() is not None:
                self.result["error"] = f"tiermirror exited ({self.p.returncode}) after {t:.1f} s; log {self.log_path}"
                return False
            if t > self.a.timeout:
                self.result["error"] = f"not caught up after {self.a.timeout:.0f} s; log {self.log_path}"
                return False
            m = scrape(self.port)
            cpu, rss = e2e.proc_cpu(self.p.pid), e2e.proc_status(self.p.pid, "VmRSS")
            if m is not None:
                known = sum(m["states"].values())
                running = m["states"].get("running", 0)
                self.samples.append({"t": round(t, 3), "cpu_s": cpu, "rss": rss, "known": known, "running": running,
                                     "starting": m["states"].get("starting", 0), "ready": m["ready"],
                                     "batches": m["batches"], "records": m["records"], "bytes": m["bytes"],
                                     "lag": m["lag"], "buffered": m["buffered"]})
                self.mark("metrics_up_s", True)
                self.mark("partitions_known_s", known >= self.partitions)
                self.mark("ready_s", m["ready"] >= 1)
                self.mark("first_ack_s", m["batches"] > 0)
                self.mark("all_running_s", running >= self.partitions)
                if running >= self.partitions and m["lag"] == 0 and m["records"] >= self.expect:
                    self.mark("caught_up_s", True)
                    self.result.update(cpu_at_caught_up_s=cpu, rss_at_caught_up=rss, records=m["records"],
                                       bytes=m["bytes"], batches=m["batches"],
                                       broker_cpu_at_caught_up={n: self.kafka.cpu(n) - self.broker0[n]
                                                                for n in ("source", "target")})
                    return True
            time.sleep(self.a.sample)

    def idle(self, seconds):
        """CPU and VmRSS over `seconds` with nothing to mirror and no scrapes (only /proc reads)."""
        c0, b0, t0 = e2e.proc_cpu(self.p.pid), {n: self.kafka.cpu(n) for n in ("source", "target")}, time.monotonic()
        rss = []
        while time.monotonic() - t0 < seconds and self.p.poll() is None:
            rss.append(e2e.proc_status(self.p.pid, "VmRSS"))
            time.sleep(1)
        dt = time.monotonic() - t0
        c1 = e2e.proc_cpu(self.p.pid)
        self.result.update(idle_s=dt, idle_cpu_s=c1 - c0, idle_cpu_share=(c1 - c0) / dt,
                           idle_rss_max=max(rss or [0]), idle_rss_last=(rss or [0])[-1],
                           idle_broker_cpu_s={n: self.kafka.cpu(n) - b0[n] for n in ("source", "target")})
        print(f"[scale] {self.tag}: idle {dt:.0f} s: {c1 - c0:.2f} CPU s ({100 * (c1 - c0) / dt:.2f}% of a core), "
              f"VmRSS {max(rss or [0]) / MIB:.0f} MiB", flush=True)

    def stop(self):
        self.result["cpu_before_stop_s"] = e2e.proc_cpu(self.p.pid)
        self.result["vmhwm"] = e2e.proc_status(self.p.pid, "VmHWM")
        if self.p.poll() is None:
            ts = time.monotonic()
            self.p.send_signal(signal.SIGTERM)
            # Wait without reaping (poll() would), so that wait4 below gets the rusage.
            while time.monotonic() - ts < 60:
                if os.waitid(os.P_PID, self.p.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                    break
                time.sleep(0.02)
            else:
                self.p.kill()
            self.result["stop_s"] = time.monotonic() - ts
        # wait4's rusage: microsecond resolution where /proc/PID/stat counts 10 ms ticks.
        try:
            _, status, ru = os.wait4(self.p.pid, 0)
            self.result["rc"] = os.waitstatus_to_exitcode(status)
            self.result["cpu_exit_s"] = ru.ru_utime + ru.ru_stime
        except ChildProcessError:
            self.result["rc"] = self.p.returncode
        self.result["wall_s"] = self.now()
        self.result["broker_cpu_s"] = {n: self.kafka.cpu(n) - self.broker0[n] for n in ("source", "target")}
        self.result.update(self.events)
        self.result["samples"] = self.samples
        return self.result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=os.path.join(REPO, "build", "perf"))
    ap.add_argument("--version", default="4.4.0")
    ap.add_argument("--broker-heap", default="3g", help="heap of each broker (default 3g; 512m died at 10,000 partitions)")
    ap.add_argument("--topics", type=int, default=5)
    ap.add_argument("--partitions", type=int, default=2000, help="partitions per topic (default 2000)")
    ap.add_argument("--bytes", type=float, default=1e8, help="uncompressed preload over all partitions (1e8)")
    ap.add_argument("--restart-bytes", type=float, default=1e7, help="produced before the restart (1e7)")
    ap.add_argument("--small-partitions", type=int, default=4, help="partitions of the CPU/GB comparison (4)")
    ap.add_argument("--codec", default="zstd")
    ap.add_argument("--total-bytes", default="512MiB", help="limits.total_bytes (default 512MiB)")
    ap.add_argument("--commit-interval", default="5s", help="commit_interval (default 5s, tiermirror's default)")
    ap.add_argument("--idle", type=float, default=30, help="seconds of idle CPU measurement (30)")
    ap.add_argument("--sample", type=float, default=0.25, help="seconds between /metrics samples (0.25)")
    ap.add_argument("--timeout", type=float, default=600, help="per phase, seconds (600)")
    ap.add_argument("--log-level", default="info")
    ap.add_argument("--no-cpu-compare", action="store_true", help="skip phase 3")
    ap.add_argument("--work-dir")
    ap.add_argument("--out-dir", default=os.path.join(REPO, "perf", "results"))
    a = ap.parse_args()

    tm = os.path.join(a.build_dir, "tiermirror")
    clusters_bin = os.path.join(a.build_dir, "perf", "tiermirror_perf_clusters")
    for b in (tm, clusters_bin):
        if not os.access(b, os.X_OK):
            raise SystemExit(f"missing {b}: build it (perf/e2e/scale.sh builds {a.build_dir})")
    work = a.work_dir or tempfile.mkdtemp(prefix="tiermirror-scale-")
    os.makedirs(work, exist_ok=True)
    print(f"[scale] work dir {work}", flush=True)
    name = "scale-" + datetime.datetime.utcnow().strftime("%Y-%m-%d-%H%M%S")

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    t_start = time.monotonic()
    kafka = e2e.RealKafka(a.version, os.path.join(work, "kafka"), 1, a.broker_heap)
    cl = None
    phases, failed, data, small_data = [], [], None, None
    n_parts = a.topics * a.partitions
    budget = e2e.parse_size(a.total_bytes)
    running_phase = None

    def run_phase(tag, group, expect, idle, target_expect=None):
        nonlocal running_phase
        port = free_port()
        cfg = os.path.join(work, f"{tag}.yaml")
        write_config(cfg, "scale", group, kafka.bootstrap("source"), kafka.bootstrap("target"), port,
                     a.total_bytes, a.log_level, a.commit_interval)
        parts = expect[1]
        print(f"[scale] {tag}: tiermirror run, {parts} partitions, group {group}, expecting {expect[0]} records",
              flush=True)
        ph = Phase(a, kafka, tm, cfg, work, tag, port, parts, expect[0])
        running_phase = ph
        ok = ph.watch()
        if ok and idle:
            ph.idle(a.idle)
        r = ph.stop()
        running_phase = None
        c = cl.cmd("count t") if cl else ""
        r["target_records"] = int(c.split()[2]) if c.startswith("COUNT") else None
        if not ok or r["rc"] != 0:
            failed.append(tag)
            print(f"[scale] {tag} FAILED: {r.get('error', 'exit %s' % r['rc'])}", flush=True)
        r["target_records_expected"] = target_expect
        if target_expect is not None and r["target_records"] != target_expect:
            failed.append(tag + " target records")
            print(f"[scale] {tag}: the target holds {r['target_records']} records, expected {target_expect}", flush=True)
        phases.append(r)
        return r

    try:
        t = time.monotonic()
        kafka.start()
        print(f"[scale] brokers up ({a.version}, heap {a.broker_heap}) in {time.monotonic() - t:.0f} s; "
              f"preloading {a.bytes:.0e} bytes into {a.topics} x {a.partitions} partitions ...", flush=True)
        t = time.monotonic()
        cl = e2e.Clusters(clusters_bin, ["--source-bootstrap", kafka.bootstrap("source"), "--target-bootstrap",
                                         kafka.bootstrap("target"), "--topics", str(a.topics), "--partitions",
                                         str(a.partitions), "--bytes", str(a.bytes), "--codec", a.codec,
                                         "--targets", "t"], os.path.join(work, "clusters.log"))
        data = dict(cl.info, preload_s=time.monotonic() - t)
        print(f"[scale] preloaded {data['records']} records, {data['compressed_bytes'] / 1e6:.1f} MB compressed in "
              f"{data['preload_s']:.0f} s", flush=True)
        records = data["records"]
        run_phase("start", "scale-a", (records, n_parts), idle=True, target_expect=records)
        r = cl.cmd(f"produce {a.restart_bytes:.0f}")
        if not r.startswith("PRODUCED"):
            raise SystemExit("produce: " + r)
        more = int(r.split()[1])
        records += more
        # The restart expects only what was produced since: mirrored_records counts from the process start.
        run_phase("restart", "scale-a", (more, n_parts), idle=False, target_expect=records)
        if not a.no_cpu_compare:
            r = cl.cmd("reset t")
            if not r.startswith("RESET"):
                raise SystemExit("reset: " + r)
            run_phase("cpu-many", "scale-b", (records, n_parts), idle=False, target_expect=records)
            cl.close()
            cl = None
            t = time.monotonic()
            cl = e2e.Clusters(clusters_bin, ["--source-bootstrap", kafka.bootstrap("source"), "--target-bootstrap",
                                             kafka.bootstrap("target"), "--partitions", str(a.small_partitions),
                                             "--bytes", str(a.bytes + a.restart_bytes), "--codec", a.codec,
                                             "--targets", "t"], os.path.join(work, "clusters-small.log"))
            small_data = dict(cl.info, preload_s=time.monotonic() - t)
            run_phase("cpu-few", "scale-c", (small_data["records"], a.small_partitions), idle=False,
                      target_expect=small_data["records"])
    except KeyboardInterrupt:
        failed.append("interrupted")
        print("[scale] interrupted", flush=True)
    finally:
        if running_phase is not None and running_phase.p.poll() is None:
            running_phase.p.kill()
            running_phase.p.wait()
        if cl:
            cl.close()
        print("[scale] stopping the brokers and removing their data", flush=True)
        kafka.stop()

    result = {"name": name, "date_utc": datetime.datetime.utcnow().isoformat(timespec="seconds") + "Z",
              "machine": {"cpus": os.cpu_count(), "uname": " ".join(os.uname()),
                          "loadavg_end": os.getloadavg()},
              "kafka": {"version": a.version, "broker_heap": a.broker_heap, "brokers_per_cluster": 1,
                        "broker_jvm": "G1, full JIT (scripts/kafka --jvm server)"},
              "args": vars(a), "partitions": n_parts, "budget_bytes": budget, "data": data,
              "small_data": small_data, "phases": phases, "failed": failed,
              "total_s": time.monotonic() - t_start, "work_dir": work}
    summarise(result)
    os.makedirs(a.out_dir, exist_ok=True)
    base = os.path.join(a.out_dir, name)
    with open(base + ".json", "w") as f:
        json.dump(result, f, indent=1)
    md = markdown(result)
    with open(base + ".md", "w") as f:
        f.write(md)
    print(md)
    print(f"[scale] wrote {base}.md/.json; total {result['total_s']:.0f} s; logs in {work}")
    return 1 if failed else 0


def summarise(res):
    ph = {p["phase"]: p for p in res["phases"]}
    s = {}
    for tag in ("cpu-many", "cpu-few"):
        p = ph.get(tag)
        if p and "cpu_at_caught_up_s" in p and p.get("bytes"):
            cpu = p.get("cpu_exit_s", p["cpu_at_caught_up_s"])
            s[tag] = {"cpu_s": cpu, "cpu_at_caught_up_s": p["cpu_at_caught_up_s"], "compressed_bytes": p["bytes"],
                      "cpu_s_per_gb_compressed": cpu / (p["bytes"] / 1e9),
                      "wall_s": p["caught_up_s"], "broker_cpu_s": p["broker_cpu_at_caught_up"]}
    if "cpu-many" in s and "cpu-few" in s:
        s["cpu_per_gb_ratio_many_vs_few"] = (s["cpu-many"]["cpu_s_per_gb_compressed"] /
                                            s["cpu-few"]["cpu_s_per_gb_compressed"])
    res["summary"] = s


def fmt(v, f="%.2f"):
    return "—" if v is None else f % v


def markdown(res):
    d, k = res["data"] or {}, res["kafka"]
    ph = {p["phase"]: p for p in res["phases"]}
    budget = res["budget_bytes"]
    lines = [f"# tiermirror scale benchmark {res['name']}", "",
             f"{res['partitions']} partitions ({res['args']['topics']} topics bench-0..{res['args']['topics'] - 1} x "
             f"{res['args']['partitions']}) on Apache Kafka {k['version']} (one source and one target broker, heap "
             f"{k['broker_heap']}, {k['broker_jvm']}) on this machine ({res['machine']['cpus']} CPUs, shared: other "
             f"builds and tests ran at the same time, so every number carries that noise; load average at the end "
             f"{res['machine']['loadavg_end'][0]:.1f}). "
             + (f"Preload: {d.get('records')} records, {d.get('uncompressed_bytes', 0) / 1e6:.1f} MB uncompressed, "
                f"{d.get('compressed_bytes', 0) / 1e6:.1f} MB compressed ({d.get('codec')}, {d.get('batches')} "
                f"batches) in {d.get('preload_s', 0):.0f} s. " if d else "")
             + f"`limits.total_bytes` {budget / MIB:.0f} MiB, `commit_interval` {res['args'].get('commit_interval', '1s')}, `metrics.per_partition_labels: false`, partition_sync on "
               f"(replication factor 1), audit off; /metrics and /proc sampled every {res['args']['sample']} s.", ""]
    if res["failed"]:
        lines += [f"**FAILED: {', '.join(res['failed'])}**", ""]
        for p in res["phases"]:
            if p.get("error"):
                lines += [f"- {p['phase']}: {p['error']}"]
        lines += [""]
    lines += ["## Start-up and restart (seconds from `tiermirror run`'s start)", "",
              "| run | partitions known | ready (/readyz) | first batch acknowledged | every partition running | "
              "caught up | first ack after partitions known | tiermirror CPU s to caught up | broker CPU s to caught "
              "up (source + target) | stop (SIGTERM) s | exit | target records (expected) |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for tag, label in (("start", "1 start-up: fresh target, new group"),
                       ("restart", "2 restart: same group, committed offsets, "
                                   f"{res['args']['restart_bytes']:.0e} bytes new"),
                       ("cpu-many", f"3a fresh target, {res['partitions']} partitions"),
                       ("cpu-few", f"3b fresh target, {res['args']['small_partitions']} partitions")):
        p = ph.get(tag)
        if not p:
            continue
        gap = (p["first_ack_s"] - p["partitions_known_s"]) if "first_ack_s" in p and "partitions_known_s" in p else None
        b = p.get("broker_cpu_at_caught_up")
        lines.append(f"| {label} | {fmt(p.get('partitions_known_s'))} | {fmt(p.get('ready_s'))} | "
                     f"{fmt(p.get('first_ack_s'))} | {fmt(p.get('all_running_s'))} | {fmt(p.get('caught_up_s'))} | "
                     f"{fmt(gap)} | {fmt(p.get('cpu_at_caught_up_s'))} | "
                     + (f"{b['source'] + b['target']:.1f} ({b['source']:.1f} + {b['target']:.1f})" if b else "—")
                     + f" | {fmt(p.get('stop_s'))} | {p.get('rc')} | {p.get('target_records')} "
                       f"({p.get('target_records_expected')}) |")
    lines += ["", "Goal: first batch acknowledged within 5 s of the metadata (partitions known)."]
    st = ph.get("start")
    if st and "idle_cpu_s" in st:
        lim = budget + 64 * MIB
        ib = st["idle_broker_cpu_s"]
        lines += ["", "## Steady state after catching up (run 1)", "",
                  f"- VmRSS when caught up {st['rss_at_caught_up'] / MIB:.0f} MiB; over the idle window at most "
                  f"{st['idle_rss_max'] / MIB:.0f} MiB (last {st['idle_rss_last'] / MIB:.0f} MiB); VmHWM "
                  f"{st['vmhwm'] / MIB:.0f} MiB. Goal: limits.total_bytes + 64 MiB = {lim / MIB:.0f} MiB: "
                  f"**{'met' if st['idle_rss_max'] <= lim else 'NOT met'}** (steady)"
                  + ("" if st["vmhwm"] <= lim else "; the peak (VmHWM) is above it") + ".",
                  f"- Idle CPU (every partition running, caught up, nothing to mirror, no scrapes): "
                  f"{st['idle_cpu_s']:.2f} CPU s over {st['idle_s']:.0f} s = **{100 * st['idle_cpu_share']:.2f}% of a "
                  f"core**. Goal under 1%: **{'met' if st['idle_cpu_share'] < 0.01 else 'NOT met'}**. Brokers meanwhile: "
                  f"source {ib['source']:.2f}, target {ib['target']:.2f} CPU s."]
    s = res.get("summary", {})
    if "cpu-many" in s or "cpu-few" in s:
        lines += ["", "## CPU per compressed GB: many partitions vs few (same volume, fresh target)", "",
                  "| run | compressed MB mirrored | wall s to caught up | CPU s (rusage at exit) | CPU s / GB compressed | "
                  "broker CPU s (source + target) |", "|---|---|---|---|---|---|"]
        for tag, label in (("cpu-many", f"{res['partitions']} partitions"),
                           ("cpu-few", f"{res['args']['small_partitions']} partitions")):
            x = s.get(tag)
            if x:
                b = x["broker_cpu_s"]
                lines.append(f"| {label} | {x['compressed_bytes'] / 1e6:.1f} | {x['wall_s']:.2f} | {x['cpu_s']:.2f} | "
                             f"{x['cpu_s_per_gb_compressed']:.1f} | {b['source'] + b['target']:.1f} "
                             f"({b['source']:.1f} + {b['target']:.1f}) |")
        if "cpu_per_gb_ratio_many_vs_few" in s:
            lines += ["", f"Ratio many / few: **{s['cpu_per_gb_ratio_many_vs_few']:.1f}x**. CPU is the process's "
                      "user+system time (wait4 rusage) after it was stopped at the first sample that saw it caught up, "
                      "so it includes start-up (metadata, resume, producer id), the scrapes and the final commit; at this small volume per partition start-up "
                      "dominates the many-partition run."]
    lines += ["", "Not the bottleneck: the brokers' CPU is given beside each run (/proc, utime+stime of the JVMs).",
              "", f"Whole run {res['total_s']:.0f} s; logs and configs in `{res['work_dir']}`."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    try:
        sys.exit(main())
    except e2e.Unavailable as e:
        print(f"[scale] UNAVAILABLE: {e}", file=sys.stderr, flush=True)
        sys.exit(3)
