#!/usr/bin/env python3
"""End-to-end benchmark driver: identity mirroring (tiermirror) against recompressing mirrors.

Default (real brokers): starts a source and a target Apache Kafka cluster (--version, default 4.4.0; one
broker each) from Maven jars with scripts/kafka, preloads the source's topic `bench` through
perf/e2e/clusters (a separate process, which also resets and counts the target), then runs, one after
the other on the same data, each contender into a fresh, empty target topic with its own consumer group:
  a  tiermirror run --until-caught-up                  (identity: batches forwarded as fetched)
  b  tiermirror run --until-caught-up --force-repack   (every batch decompressed and recompressed)
  c  classic_mirror (librdkafka consumer + producer, recompressing with the same codec)
  d  MirrorMaker 2 (Kafka's connect-mirror, dedicated mode), stopped once the target holds every record
--repeat rounds (default 3; MirrorMaker 2 --mm2-repeat, default the same); the tables show each contender's medians and
the CPU ratios of every round (this shared VM's noise moves single runs a lot). CPU = user+system of the
mirror process only (wait4 rusage; MirrorMaker 2's JVM from /proc before it is stopped); the brokers'
JVMs are measured apart. The clusters are stopped and their data removed at the end (also on failure
or Ctrl-C).

--mock: librdkafka mock clusters instead (no Java): one target cluster per contender, contenders a-c,
and a memory run: tiermirror with limits.total_bytes = --budget, its target going down --stall-at
seconds after the start for --stall seconds, its VmRSS sampled every 100 ms.
Writes perf/results/<date>.md, .json and, with gnuplot, .png. Standard library only.
Exit status: 0 all good, 1 a contender failed or lost records, 3 real brokers or MirrorMaker 2
unavailable (Java, Maven or the jars missing).
"""
import argparse, datetime, json, os, re, shutil, signal, statistics, subprocess, sys, tempfile, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MIB = 1024 * 1024
KAFKA = os.path.join(REPO, "scripts", "kafka")
CONTENDERS = (("a", "tiermirror (identity)", "identity"),
              ("b", "tiermirror --force-repack", "repack"),
              ("c", "classic librdkafka mirror", "classic"),
              ("d", "MirrorMaker 2", "mm2"))
# connect-mirror versions tried when --mm2-version is not given: the brokers' own, then the newest
# this machine's Maven mirror serves (4.4.0's connect-mirror is not on it).
MM2_FALLBACK = "4.3.1"
# Measured per run; a contender's summary holds the median of each over its rounds.
MEASURED = ("wall_s", "cpu_user_s", "cpu_sys_s", "cpu_s", "peak_rss_bytes", "minor_faults", "voluntary_switches",
            "broker_cpu_s")
REAL_MEASURED = ("source_broker_cpu_s", "target_broker_cpu_s")


class Unavailable(Exception):
    """Real brokers or MirrorMaker 2 cannot run here (Java, Maven or the jars missing)."""


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


def proc_status(pid, key):
    """A /proc/PID/status value in bytes (kB fields) or as a number, 0 when gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    v = line.split()[1:]
                    return int(v[0]) * (1024 if v[1:] == ["kB"] else 1)
    except OSError:
        pass
    return 0


def proc_minflt(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[7])
    except OSError:
        return 0


class RealKafka:
    """A source and a target Apache Kafka cluster started with scripts/kafka in `folder`; stop() stops
    them (SIGKILL: their data goes anyway) and removes their data, keeping the broker logs."""

    def __init__(self, version, folder, brokers, heap):
        self.version, self.folder, self.brokers, self.heap, self.dirs, self.env = version, folder, brokers, heap, {}, {}

    def start(self):
        version, folder, brokers, heap = self.version, self.folder, self.brokers, self.heap
        for name in ("source", "target"):
            d = os.path.join(folder, name)
            self.dirs[name] = d
            p = subprocess.run([sys.executable, KAFKA, "start", version, d, "--brokers", str(brokers), "--heap", heap,
                                "--jvm", "server"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if p.returncode == 3:
                raise Unavailable(f"Apache Kafka {version}: {p.stderr.strip()}")
            if p.returncode != 0:
                raise SystemExit(f"scripts/kafka start {version} {d} failed (exit {p.returncode}):\n{p.stderr}")
            self.env[name] = dict(line.split("=", 1) for line in p.stdout.splitlines() if "=" in line)

    def bootstrap(self, name):
        return self.env[name]["BOOTSTRAP"]

    def pids(self, name):
        out = []
        d = self.dirs.get(name)
        for node in sorted(os.listdir(d)) if d and os.path.isdir(d) else []:
            try:
                out.append(int(open(os.path.join(d, node, "broker.pid")).read().strip()))
            except (OSError, ValueError):
                pass
        return out

    def cpu(self, name):
        return sum(proc_cpu(p) for p in self.pids(name))

    def heap_peak(self, name):
        return max([proc_status(p, "VmHWM") for p in self.pids(name)] + [0])

    def stop(self):
        for name, d in self.dirs.items():
            if not os.path.exists(os.path.join(d, "cluster.json")):
                continue
            nodes = [n for n in sorted(os.listdir(d)) if n.startswith("node-")]
            for n in nodes:
                subprocess.run([sys.executable, KAFKA, "kill-node", d, n.split("-")[1]], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            for n in nodes:
                shutil.rmtree(os.path.join(d, n, "data"), ignore_errors=True)
        self.dirs = {}


def mm2_libs(versions):
    """(version, libs dir, notes) of the first connect-mirror version Maven resolves."""
    notes = []
    for v in versions:
        p = subprocess.run([sys.executable, KAFKA, "mm2-libs", v], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
        if p.returncode == 0:
            return v, p.stdout.strip().split("=", 1)[1], notes
        err = re.sub(r"\x1b\[[0-9;]*m", "", p.stderr)
        m = re.search(r"(Could not find artifact \S+|\S+ was not found in \S+|mvn not found[^\n]*)", err)
        reason = m.group(1) if m else (err.strip().splitlines() or [f"exit {p.returncode}"])[-1].strip()[:200]
        notes.append(f"connect-mirror {v} could not be resolved from Maven ({reason})")
        print(f"[e2e] {notes[-1]}", flush=True)
    raise Unavailable("MirrorMaker 2: " + "; ".join(notes))


def write_mm2_properties(path, source, target, codec, tag, tasks):
    """MirrorMaker 2 in dedicated mode, src -> tgt, topic bench under the same name, nothing but the
    records: no heartbeats, checkpoints, offset syncs, config or ACL sync. Each run gets its own worker
    group and internal topics (the target's topics are deleted between runs anyway). Tuned as one
    would for throughput: large producer batches with a short linger, the source codec, large fetches."""
    props = {
        "clusters": "src, tgt",
        "src.bootstrap.servers": source,
        "tgt.bootstrap.servers": target,
        "src->tgt.enabled": "true",
        "tgt->src.enabled": "false",
        "src->tgt.topics": "bench",
        "replication.policy.class": "org.apache.kafka.connect.mirror.IdentityReplicationPolicy",
        "tasks.max": str(tasks),
        "replication.factor": "1",
        "config.storage.replication.factor": "1",
        "offset.storage.replication.factor": "1",
        "status.storage.replication.factor": "1",
        # No offset-syncs.* setting at all: with emit.offset-syncs.enabled=false, MirrorSourceConnector
        # refuses any (4.3: "can't setup offset-syncs feature").
        "heartbeats.topic.replication.factor": "1",
        "emit.heartbeats.enabled": "false",
        "emit.checkpoints.enabled": "false",
        "emit.offset-syncs.enabled": "false",
        "sync.topic.configs.enabled": "false",
        "sync.topic.acls.enabled": "false",
        "sync.group.offsets.enabled": "false",
        "refresh.groups.enabled": "false",
        "offset.storage.topic": f"mm2-offsets-{tag}",
        "config.storage.topic": f"mm2-configs-{tag}",
        "status.storage.topic": f"mm2-status-{tag}",
        "tgt.group.id": f"mm2-{tag}",
        "tgt.producer.compression.type": codec,
        "tgt.producer.batch.size": "524288",
        "tgt.producer.linger.ms": "20",
        "tgt.producer.buffer.memory": "268435456",
        "tgt.producer.max.request.size": "16777216",
        "tgt.producer.acks": "all",
        "src.consumer.fetch.max.bytes": "52428800",
        "src.consumer.max.partition.fetch.bytes": "8388608",
        "src.consumer.max.poll.records": "5000",
        "src.consumer.receive.buffer.bytes": "1048576",
    }
    with open(path, "w") as f:
        f.writelines(f"{k} = {v}\n" for k, v in props.items())


def run_mm2(libs, props, log_dir, tag, count, records, timeout):
    """Runs MirrorMaker 2 until count() reaches `records` (it does not exit by itself), measures its JVM
    from /proc before stopping it: wall from its start to the last record on the target, CPU
    user+system, VmHWM, minor faults. count() polls the target's high watermarks every 0.25 s."""
    log_file = os.path.join(log_dir, f"{tag}.log")
    conf = os.path.join(log_dir, f"{tag}-log4j2.properties")
    with open(conf, "w") as f:
        f.write("status = error\nappender.file.type = File\nappender.file.name = file\n"
                f"appender.file.fileName = {log_file}\nappender.file.layout.type = PatternLayout\n"
                "appender.file.layout.pattern = [%d] %p %m (%c)%n\n"
                "rootLogger.level = INFO\nrootLogger.appenderRef.file.ref = file\n")
    # As Kafka's connect-mirror-maker.sh runs it: G1, up to 2 GiB of heap, the full JIT.
    cmd = ["java", "-Xms256m", "-Xmx2g", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
           "-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true",
           "-Dlog4j2.configurationFile=" + conf, "-cp", os.path.join(libs, "*"),
           "org.apache.kafka.connect.mirror.MirrorMaker", props]
    out = open(os.path.join(log_dir, f"{tag}.stdout"), "w")
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    r = {"rc": 0, "pid": p.pid, "first_record_s": None}
    try:
        n = 0
        while True:
            n = count()
            now = time.monotonic() - t0
            if n > 0 and r["first_record_s"] is None:
                r["first_record_s"] = now
            if n >= records:
                break
            if p.poll() is not None:
                r["rc"] = p.returncode or 1
                r["error"] = f"MirrorMaker 2 exited ({p.returncode}) with {n} of {records} records on the target"
                break
            if now > timeout:
                r["rc"] = 124
                r["error"] = f"MirrorMaker 2: {n} of {records} records on the target after {timeout:.0f} s"
                break
            time.sleep(0.25)
        wall = time.monotonic() - t0
        user = sys_ = 0.0
        try:
            with open(f"/proc/{p.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            user, sys_ = (int(fields[11]) / os.sysconf("SC_CLK_TCK"), int(fields[12]) / os.sysconf("SC_CLK_TCK"))
        except OSError:
            pass
        r.update(wall_s=wall, cpu_user_s=user, cpu_sys_s=sys_, cpu_s=user + sys_,
                 peak_rss_bytes=proc_status(p.pid, "VmHWM"), minor_faults=proc_minflt(p.pid),
                 voluntary_switches=proc_status(p.pid, "voluntary_ctxt_switches"), stdout="", cmd=" ".join(cmd))
    finally:
        if p.poll() is None:
            p.terminate()  # a clean stop leaves its worker group; then the target is reset anyway
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        out.close()
    if r.get("error"):
        print(f"[e2e] {r['error']}; log: {log_file}", flush=True)
    return r


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
    ap.add_argument("--mock", action="store_true",
                    help="librdkafka mock clusters instead of real Kafka brokers (contenders a-c and the memory run)")
    ap.add_argument("--version", default="4.4.0", help="Apache Kafka version of the real brokers (default 4.4.0)")
    ap.add_argument("--mm2-version", default=None,
                    help=f"connect-mirror version of MirrorMaker 2 (default: --version, else {MM2_FALLBACK})")
    ap.add_argument("--mm2-repeat", type=int, default=None,
                    help="rounds of MirrorMaker 2 (default --repeat; fewer if time is short: it takes ~10x "
                         "tiermirror's time)")
    ap.add_argument("--mm2-tasks", type=int, default=2, help="MirrorMaker 2 tasks.max (default 2, one per core)")
    ap.add_argument("--mm2-timeout", type=float, default=600, help="seconds MirrorMaker 2 may take per round")
    ap.add_argument("--no-mm2", action="store_true", help="real mode without MirrorMaker 2")
    ap.add_argument("--broker-heap", default="1g", help="-Xmx of each real broker (default 1g)")
    ap.add_argument("--no-warmup", action="store_true",
                    help="real mode: no unmeasured tiermirror run to warm the target broker's JIT up first")
    ap.add_argument("--bytes", type=float, default=1e9, help="uncompressed volume (default 1e9)")
    ap.add_argument("--codec", default="zstd")
    ap.add_argument("--values", default="events", choices=("events", "letters"),
                    help="record values: realistic clickstream JSON events (default) or the random-letter filler "
                         "that barely compresses (the identity path's worst case)")
    ap.add_argument("--partitions", type=int, default=0,
                    help="partitions of bench (default: real 8; mock 1 per 4.5 MB, as it keeps 5 MiB/partition)")
    ap.add_argument("--brokers", type=int, default=1)
    ap.add_argument("--batch-records", type=int, default=5000)
    ap.add_argument("--total-bytes", default="512MiB", help="limits.total_bytes of contenders a and b (the default)")
    ap.add_argument("--budget", default="64MiB", help="limits.total_bytes of the memory run")
    ap.add_argument("--stall", type=float, default=5.0, help="seconds the memory run's target is down")
    ap.add_argument("--stall-at", type=float, default=0.5,
                    help="seconds after the memory run's start its target goes down (default 0.5)")
    ap.add_argument("--repeat", type=int, default=3, help="rounds of the contenders (medians reported; default 3)")
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
    real = not a.mock
    work = tempfile.mkdtemp(prefix="tiermirror-e2e-")
    os.makedirs(a.out_dir, exist_ok=True)
    name = a.name or datetime.datetime.utcnow().strftime("%Y-%m-%d-%H%M%S")
    t_start = time.monotonic()
    mm2_repeat = a.mm2_repeat if a.mm2_repeat is not None else a.repeat
    contenders_run = [c for c in CONTENDERS if c[2] != "mm2" or (real and not a.no_mm2)]
    notes = []

    # SIGTERM as Ctrl-C: the finally blocks stop the brokers and MirrorMaker 2 and remove the data.
    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)

    kafka = None
    cl = None
    mm2 = None
    try:
        cluster_args = ["--codec", a.codec, "--values", a.values, "--batch-records", str(a.batch_records),
                        "--partitions", str(a.partitions), "--brokers", str(a.brokers)]
        if real:
            if not shutil.which("java"):
                raise Unavailable("java not found: real brokers need Java 17 and Maven "
                                  "(TIERMIRROR_WITH_KAFKA=1 scripts/install-deps), or use --mock")
            if a.mm2_version is None:
                mm2_versions = [a.version] + ([MM2_FALLBACK] if a.version != MM2_FALLBACK else [])
            else:
                mm2_versions = [a.mm2_version]
            if "d" in [c[0] for c in contenders_run]:
                v, libs, why = mm2_libs(mm2_versions)
                mm2 = {"version": v, "libs": libs}
                notes += why
                if v != a.version:
                    notes.append(f"MirrorMaker 2 is connect-mirror {v} (its clients talk to the {a.version} brokers)")
                if mm2_repeat < a.repeat:
                    notes.append(f"MirrorMaker 2 ran {mm2_repeat} round(s), the others {a.repeat} (--mm2-repeat)")
                print(f"[e2e] MirrorMaker 2: connect-mirror {v} ({libs})", flush=True)
            print(f"[e2e] starting Apache Kafka {a.version}: a source and a target cluster, {a.brokers} broker(s) each "
                  f"(heap {a.broker_heap}) ...", flush=True)
            t0 = time.monotonic()
            kafka = RealKafka(a.version, os.path.join(work, "kafka"), a.brokers, a.broker_heap)
            kafka.start()  # stopped in `finally` even if only the source came up
            print(f"[e2e] source {kafka.bootstrap('source')}, target {kafka.bootstrap('target')} "
                  f"({time.monotonic() - t0:.0f} s)", flush=True)
            cluster_args += ["--source-bootstrap", kafka.bootstrap("source"),
                             "--target-bootstrap", kafka.bootstrap("target"),
                             "--targets"] + [c[0] for c in contenders_run]

        print(f"[e2e] preloading {a.bytes / 1e6:.0f} MB ({a.codec}, {a.values}) into the source ...", flush=True)
        t0 = time.monotonic()
        cl = Clusters(clusters_bin, ["--bytes", str(a.bytes)] + cluster_args, os.path.join(work, "clusters.log"))
        info = cl.info
        preload_s = time.monotonic() - t0
        print(f"[e2e] source holds {info['records']} records in {info['partitions']} partitions, "
              f"{info['compressed_bytes'] / 1e6:.1f} MB compressed, "
              f"{info['uncompressed_bytes'] / 1e6:.1f} MB uncompressed ({preload_s:.0f} s)", flush=True)
        unc, comp, recs = info["uncompressed_bytes"], info["compressed_bytes"], info["records"]

        def count(key):
            reply = cl.cmd(f"count {key}")
            if reply.startswith(f"COUNT {key} "):
                return int(reply.split()[2])
            print(f"[e2e] clusters: count {key}: {reply}", flush=True)
            return -1

        def broker_cpu():
            if kafka:
                return {"source": kafka.cpu("source"), "target": kafka.cpu("target")}
            return {"source": proc_cpu(cl.p.pid), "target": 0.0}

        runs = {key: [] for key, _, _ in contenders_run}
        first = True
        if real and not a.no_warmup:
            # The target broker's JVM is cold (the preload and read-back warmed the source's): one
            # unmeasured identity run lets its JIT compile the produce path before anything is measured.
            print("[e2e] warm-up: one unmeasured tiermirror run into the target ...", flush=True)
            cfg = os.path.join(work, "warmup.yaml")
            write_config(cfg, "bench-warmup", info["source"], info["targets"]["a"], a.total_bytes)
            w = run_child([tm, "run", "--config", cfg, "--until-caught-up", "--log-level", "warn"],
                          os.path.join(work, "warmup.log"))
            if w["rc"] != 0:
                raise SystemExit(f"warm-up run failed (exit {w['rc']}); log: {os.path.join(work, 'warmup.log')}")
            first = False  # the next run resets the target
        for rnd in range(1, a.repeat + 1):
            for key, label, mode in contenders_run:
                if mode == "mm2" and rnd > mm2_repeat:
                    continue
                target = info["targets"][key]
                # Real: every run into a fresh, empty target topic (one target cluster for all). Mock: each
                # contender has its own target cluster, replaced from the second round on.
                if (real and not first) or (not real and rnd > 1):
                    reply = cl.cmd(f"reset {key}").split()
                    if reply[:2] != ["RESET", key]:
                        raise SystemExit(f"clusters: reset {key}: {' '.join(reply)}")
                    target = reply[2]
                first = False
                suffix = "" if rnd == 1 else f"-r{rnd}"
                print(f"[e2e] round {rnd}/{a.repeat} {key}: {label} ...", flush=True)
                cpu0 = broker_cpu()
                if mode == "mm2":
                    props = os.path.join(work, f"{key}{suffix}.properties")
                    tag = f"bench-{key}{suffix}"
                    write_mm2_properties(props, info["source"], target, a.codec, tag.replace("bench-", ""), a.mm2_tasks)
                    r = run_mm2(mm2["libs"], props, work, f"{key}{suffix}", lambda: count(key), recs, a.mm2_timeout)
                    cmd = r.pop("cmd").split()
                else:
                    if mode == "classic":
                        cmd = [classic, "--source", info["source"], "--target", target, "--topic", "bench",
                               "--group", f"classic-{key}{suffix}", "--codec", a.codec]
                    else:
                        cfg = os.path.join(work, f"{key}{suffix}.yaml")
                        write_config(cfg, f"bench-{key}{suffix}", info["source"], target, a.total_bytes)
                        cmd = [tm, "run", "--config", cfg, "--until-caught-up", "--log-level", "warn"]
                        if mode == "repack":
                            cmd.append("--force-repack")
                    r = run_child(cmd, os.path.join(work, f"{key}{suffix}.log"))
                    del r["rss_samples"]
                cpu1 = broker_cpu()
                r["source_broker_cpu_s"] = cpu1["source"] - cpu0["source"]
                r["target_broker_cpu_s"] = cpu1["target"] - cpu0["target"]
                r["broker_cpu_s"] = r["source_broker_cpu_s"] + r["target_broker_cpu_s"]
                r["target_records"] = count(key)
                r.update(round=rnd, cmd=" ".join(cmd))
                if r["rc"] != 0:
                    print(f"[e2e] {key} exited {r['rc']}; log: {os.path.join(work, key + suffix + '.log')}", flush=True)
                if r["target_records"] != recs:
                    print(f"[e2e] !!! {key} round {rnd}: the target holds {r['target_records']} records, the source "
                          f"{recs} !!!", flush=True)
                print(f"[e2e]   wall {r['wall_s']:.2f} s, cpu {r['cpu_s']:.2f} s ({r['cpu_s'] / (unc / 1e9):.2f} s/GB, "
                      f"{r['cpu_s'] / r['wall_s']:.2f} of a core), broker cpu {r['broker_cpu_s']:.2f} s, "
                      f"peak RSS {r['peak_rss_bytes'] / MIB:.0f} MiB, target records {r['target_records']}/{recs}",
                      flush=True)
                runs[key].append(r)
        contenders = []
        for key, label, mode in contenders_run:
            rs = runs[key]
            r = {m: statistics.median(x[m] for x in rs) for m in MEASURED + (REAL_MEASURED if real else ())}
            r.update(key=key, label=label, mode=mode, cmd=rs[0]["cmd"], stdout=rs[0]["stdout"],
                     rc=next((x["rc"] for x in rs if x["rc"] != 0), 0), rounds=len(rs),
                     target_records=min(x["target_records"] for x in rs),
                     target_records_max=max(x["target_records"] for x in rs), runs=rs)
            if mode == "mm2":
                starts = [x["first_record_s"] for x in rs if x.get("first_record_s") is not None]
                r["first_record_s"] = statistics.median(starts) if starts else None
            r["mb_per_s_compressed"] = comp / 1e6 / r["wall_s"]
            r["mb_per_s_uncompressed"] = unc / 1e6 / r["wall_s"]
            r["records_per_s"] = recs / r["wall_s"]
            r["cpu_s_per_gb"] = r["cpu_s"] / (unc / 1e9)
            r["cpu_s_per_gb_compressed"] = r["cpu_s"] / (comp / 1e9)
            r["broker_cpu_s_per_gb"] = r["broker_cpu_s"] / (unc / 1e9)
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
        memory_skipped = None
        if real and not a.no_memory_run:
            memory_skipped = ("the memory run (target down with batches in flight) runs in --mock mode only: "
                              "perf/e2e/run.sh --mock")
            print(f"[e2e] memory run skipped: {memory_skipped}", flush=True)
        elif not a.no_memory_run:
            memory = memory_run(a, cl, tm, work, info)
    finally:
        if cl:
            cl.close()
        if kafka:
            print("[e2e] stopping the Kafka clusters and removing their data", flush=True)
            kafka.stop()

    result = {"name": name, "date_utc": datetime.datetime.utcnow().isoformat(timespec="seconds") + "Z",
              "machine": {"cpus": os.cpu_count(), "uname": " ".join(os.uname())},
              "mode": "real" if real else "mock",
              "data": {k: info[k] for k in ("records", "batches", "compressed_bytes", "uncompressed_bytes",
                                            "partitions", "brokers", "codec", "values")},
              "preload_s": preload_s, "repeat": a.repeat, "contenders": contenders, "memory": memory,
              "memory_skipped": memory_skipped, "notes": notes, "warmup": real and not a.no_warmup,
              "total_s": time.monotonic() - t_start, "work_dir": work}
    if real:
        result["kafka"] = {"version": a.version, "brokers_per_cluster": a.brokers, "broker_heap": a.broker_heap,
                           "broker_jvm": "G1, full JIT (scripts/kafka --jvm server)"}
        if mm2:
            result["kafka"].update(mm2_version=mm2["version"], mm2_repeat=min(mm2_repeat, a.repeat),
                                   mm2_tasks=a.mm2_tasks)
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
    bad = [r["key"] for r in contenders if r["rc"] != 0 or r["target_records"] != info["records"]
           or r["target_records_max"] != info["records"]]
    if bad:
        print(f"[e2e] FAILED: {', '.join(bad)} exited non-zero or did not deliver exactly the source's records")
    return 1 if bad else 0


def memory_run(a, cl, tm, work, info):
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
    return memory


def parse_size(s):
    units = {"KiB": 1024, "MiB": MIB, "GiB": 1024 * MIB, "KB": 1000, "MB": 1000 ** 2, "GB": 1000 ** 3}
    for u, m in units.items():
        if s.endswith(u):
            return int(float(s[: -len(u)]) * m)
    return int(s)


def markdown(res):
    d = res["data"]
    real = res.get("mode") == "real"
    k = res.get("kafka", {})
    rounds = res.get("repeat", 1)
    if real:
        setup = (f"Apache Kafka {k['version']} brokers (one source and one target cluster, {k['brokers_per_cluster']} "
                 f"broker(s) each, heap {k['broker_heap']}, {k['broker_jvm']}) on this machine; every run into a "
                 f"freshly created, empty target topic with its own consumer group. "
                 + ("An unmeasured tiermirror run warmed the target broker's JIT up first. "
                    if res.get("warmup") else "") +
                 f"{rounds} round(s) of a, b, c" + (
                     f"; MirrorMaker 2 (connect-mirror {k['mm2_version']}, dedicated mode, tasks.max "
                     f"{k['mm2_tasks']}) {k['mm2_repeat']} round(s): it does not exit by itself, so its wall time "
                     f"runs from its start to the moment the target's high watermarks reached the source's (polled "
                     f"every 0.25 s) and its CPU is read from /proc just before it is stopped"
                     if "mm2_version" in k else "") + ". Each number is the median over a contender's rounds.")
    else:
        setup = (f"librdkafka mock clusters (--mock), {d['brokers']} broker(s) per cluster, in a separate process. "
                 f"Contenders run one after the other on the same data, {rounds} round(s) of a, b, c, each into "
                 f"fresh targets. Each number is the median over the rounds.")
    lines = [f"# tiermirror e2e benchmark {res['name']}", "",
             f"{d['records']} records, {d['uncompressed_bytes'] / 1e6:.1f} MB uncompressed, "
             f"{d['compressed_bytes'] / 1e6:.1f} MB compressed ({d['codec']}, {d['batches']} batches; values: "
             f"{d.get('values', 'letters')}), {d['partitions']} partitions; {res['machine']['cpus']} CPUs. " + setup,
             ""]
    for n in res.get("notes", []):
        lines += [f"Note: {n}.", ""]
    if real:
        lines += ["| contender | rounds | wall s | CPU s (user+sys) | share of a core | CPU s/GB uncompr. | "
                  "CPU s/GB compr. | MB/s compr. | MB/s uncompr. | records/s | peak RSS MiB | CPU vs a | wall vs a | "
                  "broker CPU s (source + target) | target records |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    else:
        lines += ["| contender | wall s | CPU s (user+sys) | CPU s/GB | MB/s compr. | MB/s uncompr. | records/s | "
                  "peak RSS MiB | CPU vs a | wall vs a | broker CPU s | target records |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in res["contenders"]:
        recs = f"{r['target_records']}"
        if r.get("target_records_max", r["target_records"]) != r["target_records"]:
            recs += f"-{r['target_records_max']}"
        if r["target_records"] != d["records"] or r.get("target_records_max", d["records"]) != d["records"]:
            recs = f"**{recs} MISMATCH (source {d['records']})**"
        if r["rc"] != 0:
            recs += f" (rc {r['rc']})"
        if real:
            lines.append(
                f"| {r['key']}: {r['label']} | {r.get('rounds', len(r['runs']))} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | "
                f"{r['cpu_utilisation']:.2f} | {r['cpu_s_per_gb']:.2f} | {r['cpu_s_per_gb_compressed']:.2f} | "
                f"{r['mb_per_s_compressed']:.0f} | {r['mb_per_s_uncompressed']:.0f} | {r['records_per_s']:.0f} | "
                f"{r['peak_rss_bytes'] / MIB:.0f} | {r['ratio_cpu_vs_a']:.1f}x | {r['ratio_wall_vs_a']:.1f}x | "
                f"{r['broker_cpu_s']:.1f} ({r['source_broker_cpu_s']:.1f} + {r['target_broker_cpu_s']:.1f}) | {recs} |")
        else:
            lines.append(
                f"| {r['key']}: {r['label']} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | {r['cpu_s_per_gb']:.2f} | "
                f"{r['mb_per_s_compressed']:.0f} | {r['mb_per_s_uncompressed']:.0f} | {r['records_per_s']:.0f} | "
                f"{r['peak_rss_bytes'] / MIB:.0f} | {r['ratio_cpu_vs_a']:.1f}x | {r['ratio_wall_vs_a']:.1f}x | "
                f"{r['broker_cpu_s']:.1f} | {recs} |")
    lines += ["", "CPU vs a within each round: " + "; ".join(
        f"{r['key']}: " + ", ".join(f"{x:.1f}x" for x in r.get("ratio_cpu_vs_a_rounds", []) if x)
        for r in res["contenders"][1:]) + "."]
    if real:
        a = res["contenders"][0]
        lines += ["", f"Not the bottleneck: tiermirror's identity path used {a['cpu_utilisation']:.2f} of a core "
                  f"({a['cpu_s']:.2f} CPU s over {a['wall_s']:.2f} s) while the brokers used {a['broker_cpu_s']:.2f} "
                  f"CPU s ({a['source_broker_cpu_s']:.2f} source, {a['target_broker_cpu_s']:.2f} target; "
                  f"{a['broker_cpu_s'] / a['wall_s']:.2f} of a core) over the same run."]
        d_ = next((r for r in res["contenders"] if r["mode"] == "mm2"), None)
        if d_ and d_.get("first_record_s") is not None:
            lines[-1] += (f" MirrorMaker 2's first record reached the target {d_['first_record_s']:.1f} s after its "
                          f"start (JVM and Connect start-up), which its wall time includes.")
    m = res.get("memory")
    if res.get("memory_skipped"):
        lines += ["", f"Memory run skipped: {res['memory_skipped']}."]
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
    lines += ["", f"Preload {res.get('preload_s', 0):.0f} s; whole run {res.get('total_s', 0):.0f} s (after the build)."]
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
    try:
        sys.exit(main())
    except Unavailable as e:
        print(f"[e2e] UNAVAILABLE: {e}", file=sys.stderr, flush=True)
        sys.exit(3)
    except KeyboardInterrupt:
        print("[e2e] interrupted (the clusters and MirrorMaker 2 were stopped)", file=sys.stderr, flush=True)
        sys.exit(130)
