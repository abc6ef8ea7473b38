"""Benchmark the whole platform and write docs/benchmarks.md with plots (issue #3).

    .venv/bin/python -m tools.bench [--users 100 --commands 100000] [--replicas 2] [--seed 1]
                                    [--out docs] [--quick] [--scenario replay|locust|floor|all]

Starts its own stack (every component, QUOTE_LATENCY=realistic, TRIGGER_INTERVAL_S=5) in a
temp dir on free ports with fresh secrets and stops it at the end, also on errors. The
scenarios, in this order on one stack:

- floor: GET /api/users/ping through NGINX and gunicorn (tools/loadgen.py from 1 and
  from 16 source addresses; wrk too when installed);
- replay: a workload from commands/generate.py replayed by input_script.py, its DUMPLOG
  validated against schema/logfile.xsd; the floor is measured first in the same run;
- single: the floor, then a 100-user workload replayed one request per command with
  every user's next command in flight (its own stack);
- locust: tools/locustfile.py headless (5,000 users, 100/s, 2 min by default);
- chain: the chain-nodes on a stack of their own (tools/bench_chain.py): signed
  transactions/s through NGINX, a 2,000-transaction block's validation, a fresh node
  catching up 5,000 blocks. The other scenarios' stacks run without chain-nodes.

Every stack process (and its children) is sampled with psutil for CPU time and RSS.
Figures go to <out>/bench/results.json (merged with earlier runs per scenario), plots to
<out>/bench/*.png and the report into <out>/benchmarks.md between generated markers.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import json
import logging
import os
import platform
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import redis
from lxml import etree

from commands.generate import generate_workload, write_workload
from services.common.cache import quote_fetches
from tools import bench_chain, loadgen
from tools import bench_report as report
from tools.stack import ALL, SERVICES, Ports, Stack

log = logging.getLogger("tools.bench")

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = REPO_ROOT / ".venv" / "bin"
SCHEMA = REPO_ROOT / "schema" / "logfile.xsd"
SOURCES = 16  # loopback source addresses, as input_script.py uses
FLOOR_CONNECTIONS = 64
SAMPLE_INTERVAL_S = 1.0
MAX_SERIES_POINTS = 600
MIB = 1024 * 1024

FULL = {"users": 100, "commands": 100_000, "locust_users": 5000, "locust_time": 120, "floor": 20}
QUICK = {"users": 20, "commands": 5000, "locust_users": 200, "locust_time": 20, "floor": 5}
# The single-request scenario: the official mix, one request per command, every user's
# next command in flight (at most one per user, in order), the floor measured before it
# on the same stack. 30,000 commands: a rate steady for minutes at ~200-1,000/s.
SINGLE = {"users": 100, "commands": 30_000}
QUICK_SINGLE = {"users": 20, "commands": 3000}
# Requests in flight in the throughput runs: with 256 batches in flight, FerretDB/SQLite
# answered SQLITE_BUSY to 0.4 % of the 1,200-user run's commands (its writers queue for
# one lock), and latency is queueing anyway: 100 keeps the CPUs as busy.
IN_FLIGHT = 100
# The latency scenario: single commands with this many in flight, on this workload.
LATENCY = {"users": 100, "commands": 10_000, "in_flight": 2}
QUICK_LATENCY = {"users": 20, "commands": 2000, "in_flight": 2}


# ---------------------------------------------------------------- sampling


@dataclass
class Mark:
    """CPU time of every sampled process at one moment, and the machine's busy time."""

    t: float
    cpu: dict[tuple[int, float], tuple[str, float]]
    machine_busy_s: float


def _machine_busy_s() -> float:
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


class ProcessSampler:
    """Samples CPU time and RSS of the stack's programs and of our own children.

    Programs come from ``stack.status()`` (one root PID each, plus its children: gunicorn
    and NGINX workers); our children (replayer, load generators, Locust, wrk) count under
    ``client_label``.
    """

    def __init__(self, stack: Stack, interval_s: float = SAMPLE_INTERVAL_S):
        self.stack = stack
        self.interval_s = interval_s
        self.client_label = "client"
        self.t0 = time.monotonic()
        self._cpu: dict[tuple[int, float], tuple[str, float]] = {}
        self._last_seen: dict[tuple[int, float], float] = {}
        self._series: list[tuple[float, dict[str, float]]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sampler", daemon=True)

    def _roots(self) -> list[tuple[str, psutil.Process]]:
        roots = []
        for program in self.stack.status():
            if program.pid:
                with contextlib.suppress(psutil.Error):
                    roots.append((program.name, psutil.Process(program.pid)))
        for child in psutil.Process().children():
            roots.append((self.client_label, child))
        return roots

    def sample(self) -> None:
        """Take one sample of every process now."""
        rss: Counter = Counter()
        seen: dict[tuple[int, float], tuple[str, float]] = {}
        for name, root in self._roots():
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                continue
            for proc in procs:
                try:
                    with proc.oneshot():
                        times = proc.cpu_times()
                        memory = proc.memory_info().rss
                        key = (proc.pid, proc.create_time())
                except psutil.Error:
                    continue  # it ended in between; its last sample stays
                seen[key] = (name, times.user + times.system)
                rss[name] += memory
        with self._lock:
            t = time.monotonic() - self.t0
            self._cpu.update(seen)
            self._last_seen.update(dict.fromkeys(seen, t))
            self._series.append((t, {name: v / MIB for name, v in rss.items()}))

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.sample()
            except Exception:  # a failed sample must not end the benchmark
                log.exception("sampling failed")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def mark(self) -> Mark:
        """Sample now and return what every process has used so far."""
        self.sample()
        with self._lock:
            return Mark(time.monotonic() - self.t0, dict(self._cpu), _machine_busy_s())

    def phase(self, before: Mark, after: Mark, units: int) -> dict:
        """CPU, CPU per 1,000 units, peak RSS and RSS over time between two marks."""
        with self._lock:
            # Only programs with a process alive during the phase: the clients of earlier
            # phases are gone and would show as zeros.
            active = {
                key: value
                for key, value in after.cpu.items()
                if self._last_seen.get(key, 0.0) >= before.t
            }
        cpu_s = report.cpu_delta(before.cpu, active)
        with self._lock:
            window = [(t, rss) for t, rss in self._series if before.t <= t <= after.t]
        peak: dict[str, float] = {}
        for _, rss in window:
            for name, mib in rss.items():
                peak[name] = max(peak.get(name, 0.0), mib)
        window = report.downsample(window, MAX_SERIES_POINTS)
        names = sorted({name for _, rss in window for name in rss})
        busy = after.machine_busy_s - before.machine_busy_s
        return {
            "cpu_s": cpu_s,
            "cpu_per_1k": report.per_thousand(cpu_s, units),
            "rss_peak_mib": {name: round(v, 1) for name, v in sorted(peak.items())},
            "rss_series": {
                "t": [round(t - before.t, 1) for t, _ in window],
                "mib": {n: [round(rss.get(n, 0.0), 1) for _, rss in window] for n in names},
            },
            "machine_busy_cpu_s": round(busy, 1),
            "others_cpu_s": round(max(0.0, busy - sum(cpu_s.values())), 1),
        }


# -------------------------------------------------------------------- logs


class LogCursor:
    """Reads what a supervisord-managed log gained since the cursor was made.

    supervisord rotates ``x.log`` to ``x.log.1``; a rotation in between is followed once.
    """

    def __init__(self, path: Path):
        self.path = path
        try:
            st = path.stat()
            self.inode, self.offset = st.st_ino, st.st_size
        except FileNotFoundError:
            self.inode, self.offset = None, 0

    @staticmethod
    def _read(path: Path, offset: int) -> list[str]:
        with path.open("rb") as fh:
            fh.seek(offset)
            return fh.read().decode("utf-8", "replace").splitlines()

    def new_lines(self) -> list[str]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return []
        lines: list[str] = []
        offset = self.offset
        if self.inode is not None and st.st_ino != self.inode:
            rotated = self.path.with_name(self.path.name + ".1")
            if rotated.exists() and rotated.stat().st_ino == self.inode:
                lines += self._read(rotated, self.offset)
            offset = 0
        return lines + self._read(self.path, offset)


def _replica_names(stack: Stack) -> list[str]:
    return sorted(p.name for p in stack.status() if p.group == "services")


def _cursors(stack: Stack) -> dict[str, LogCursor]:
    names = [*_replica_names(stack), "nginx"]
    return {name: LogCursor(stack.logs_dir / f"{name}.log") for name in names}


@dataclass
class Traffic:
    """What the logs say about one phase."""

    replicas: dict[str, int]  # requests per gunicorn instance
    nginx: dict[str, int]  # NGINX's answers by status class
    causes: dict[str, int]  # why requests failed, most frequent first


def _traffic(cursors: dict[str, LogCursor], top: int = 8) -> Traffic:
    replicas, nginx, causes = {}, {}, Counter()
    for name, cursor in cursors.items():
        lines = cursor.new_lines()
        counts = report.access_counts(lines)
        causes.update(report.error_causes(lines))
        if name == "nginx":
            nginx = report.status_classes(counts)
        else:
            replicas[name] = sum(counts.values())
    return Traffic(replicas, nginx, dict(causes.most_common(top)))


# ------------------------------------------------------------------ helpers


def _http_json(url: str) -> dict:
    # No proxies: a proxy from the environment must never see loopback traffic.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=10) as resp:
        return json.loads(resp.read())


def _quote_requests(stack: Stack) -> int:
    return int(_http_json(f"{stack.quote_http_url}/stats")["requests"])


def _platform_fetches(stack: Stack) -> Counter:
    """The platform's own count of requests to the quote server, by SERVER_NAME."""
    client = redis.Redis.from_url(stack.redis_url)
    try:
        return Counter(quote_fetches(client))
    finally:
        client.close()


def validate_dumplog(path: Path, schema_path: Path = SCHEMA) -> dict:
    """Stream-validate a DUMPLOG; count its entries and quoteServer entries by server."""
    if not path.exists():
        return {"valid": False, "error": f"{path.name} was not written", "bytes": 0, "entries": 0}
    schema = etree.XMLSchema(etree.parse(str(schema_path)))
    entries, quotes = 0, Counter()
    result = {"bytes": path.stat().st_size}
    try:
        # iterparse validates while it reads, so a big log never sits in memory whole.
        for _, element in etree.iterparse(str(path), schema=schema, huge_tree=True):
            parent = element.getparent()
            if parent is None or parent.getparent() is not None:
                continue  # the root, or a field inside an entry
            entries += 1
            if element.tag == "quoteServer":
                quotes[element.findtext("server") or "?"] += 1
            element.clear()
            while element.getprevious() is not None:
                del parent[0]
        result.update(valid=True, error=None)
    except etree.XMLSyntaxError as exc:
        result.update(valid=False, error=str(exc)[:300])
    result.update(entries=entries, quote_server_by_server=dict(quotes))
    return result


def _store_label(stack: Stack) -> str:
    ledger = f"LEDGER_STORE={stack.ledger_store}"
    if shutil.which("mongod"):
        return f"mongod, {ledger}"
    return f"FerretDB ({stack.ferretdb_backend}), {ledger}"


def _git_commit() -> dict:
    """The commit the tree is at and whether tracked files differ from it (read-only).

    Documentation does not count: it cannot change a run's figures, and the report's own
    files are written by one scenario before the next starts.
    """
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()
        status = subprocess.run(
            [
                "git",
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                ":(exclude)docs",
                ":(exclude,glob)**/*.md",
            ],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"commit": head, "dirty": bool(status.strip())}


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass
class Run:
    """One invocation: its settings, stack and where it keeps its files."""

    args: argparse.Namespace
    stack: Stack
    sampler: ProcessSampler
    workdir: Path
    password: str
    command: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    # Taken once, when the stack starts: the services run the code of that moment.
    code: dict = field(default_factory=_git_commit)

    def label(self) -> dict:
        return {
            "date": _now(),
            "command": self.command,
            "run_id": self.run_id,
            "quick": self.args.quick,
            **self.code,
        }


# ------------------------------------------------------------------ scenarios


def run_floor(run: Run) -> dict:
    """The floor: /api/users/ping from 1 and from SOURCES addresses, and wrk if present."""
    url = run.stack.nginx_url
    duration = run.args.floor_seconds
    run.sampler.client_label = "load generator (client)"
    cursors = _cursors(run.stack)
    before = run.sampler.mark()
    runs = []
    for sources in (1, SOURCES):
        log.info("floor: %d s of GET /api/users/ping from %d source(s)", duration, sources)
        result = loadgen.run(
            url,
            "/api/users/ping",
            duration_s=duration,
            connections=FLOOR_CONNECTIONS,
            sources=sources,
        )
        latencies = result.pop("latencies_s")
        result["latency_ms"] = report.summarize(s * 1000 for s in latencies)
        log.info("floor: %.0f requests/s from %d source(s)", result["requests_per_s"], sources)
        runs.append(result)
    wrk = None
    if shutil.which("wrk"):
        argv = ["wrk", "-t2", f"-c{FLOOR_CONNECTIONS}", f"-d{duration}s", "--latency"]
        out = subprocess.run(
            [*argv, f"{url}/api/users/ping"], capture_output=True, text=True, check=False
        )
        try:
            wrk = {**report.parse_wrk(out.stdout), "connections": FLOOR_CONNECTIONS}
            log.info("floor: wrk %.0f requests/s (1 source)", wrk["requests_per_s"])
        except ValueError:
            log.warning("wrk gave no figures: %s", out.stderr.strip()[:200])
    else:
        log.info("floor: wrk not installed (apt-get install wrk); skipping its figure")
    after = run.sampler.mark()
    requests = sum(r["requests"] for r in runs)
    traffic = _traffic(cursors)
    return {
        **run.label(),
        "duration_s": duration,
        "elapsed_s": round(after.t - before.t, 1),
        "runs": runs,
        "wrk": wrk,
        "http_status": traffic.nginx,
        "error_causes": traffic.causes,
        "processes": run.sampler.phase(before, after, requests),
    }


def run_single(run: Run) -> dict:
    """Single requests at full load: the floor (16 source addresses), then the workload
    replayed one request per command with every user's next command in flight, on the
    same stack, so the share of the floor compares figures of one moment."""
    shape = QUICK_SINGLE if run.args.quick else SINGLE
    commands = run.args.single_commands or shape["commands"]
    url = run.stack.nginx_url
    run.sampler.client_label = "load generator (client)"
    before = run.sampler.mark()
    floor = loadgen.run(
        url,
        "/api/users/ping",
        duration_s=run.args.floor_seconds,
        connections=FLOOR_CONNECTIONS,
        sources=SOURCES,
    )
    after = run.sampler.mark()
    latencies = floor.pop("latencies_s")
    floor["latency_ms"] = report.summarize(s * 1000 for s in latencies)
    floor["processes"] = run.sampler.phase(before, after, floor["requests"])
    floor["elapsed_s"] = round(after.t - before.t, 1)
    log.info("single: floor %.0f requests/s", floor["requests_per_s"])
    result = replay_workload(run, shape["users"], commands, batch=1, in_flight=IN_FLIGHT)
    return {**result, "floor": floor}


def run_replay(run: Run) -> dict:
    """The throughput run: the workload replayed in BATCH requests of ``--batch``."""
    args = run.args
    return replay_workload(run, args.users, args.commands, batch=args.batch, in_flight=IN_FLIGHT)


def run_big(run: Run) -> dict:
    """The 1,200-user 1,200,000-command workload, replayed like the throughput run."""
    return replay_workload(
        run, report.BIG_USERS, report.BIG_COMMANDS, batch=run.args.batch, in_flight=IN_FLIGHT
    )


def run_latency(run: Run) -> dict:
    """Single commands, a few in flight: what each costs when the platform is not full."""
    shape = QUICK_LATENCY if run.args.quick else LATENCY
    return replay_workload(
        run, shape["users"], shape["commands"], batch=1, in_flight=shape["in_flight"]
    )


def replay_workload(run: Run, users: int, commands: int, batch: int, in_flight: int) -> dict:
    """Generate a workload, replay it through NGINX, validate the DUMPLOG."""
    args = run.args
    workload = run.workdir / f"workload-{users}-{commands}.txt"
    log.info("generating %d commands for %d users (seed %d)", commands, users, args.seed)
    with workload.open("w", encoding="ascii", newline="\n") as out:
        write_workload(generate_workload(users, commands, args.seed), out, commands)
    with workload.open() as fh:
        symbols = report.workload_symbols(fh)
    stats_path, samples_path = run.workdir / "replay.json", run.workdir / "samples.json"
    timings_path = run.workdir / "timings.json"
    argv = [
        str(VENV_BIN / "python"),
        str(REPO_ROOT / "input_script.py"),
        str(workload),
        "--url",
        run.stack.nginx_url,
        "--json",
        str(stats_path),
        "--samples",
        str(samples_path),
        "--timings",
        str(timings_path),
        "--batch",
        str(batch),
        "--concurrency",
        str(in_flight),
    ]
    env = {**os.environ, "SERVICE_PASSWORD": run.password}
    run.sampler.client_label = "replayer (client)"
    cursors = _cursors(run.stack)
    quotes_before = _quote_requests(run.stack)
    fetches_before = _platform_fetches(run.stack)
    before = run.sampler.mark()
    log.info("replaying: %s", shlex.join(argv))
    code = subprocess.run(argv, cwd=run.workdir, env=env, check=False).returncode
    after = run.sampler.mark()
    quotes = _quote_requests(run.stack) - quotes_before
    fetches = _platform_fetches(run.stack) - fetches_before
    if not stats_path.exists():
        raise RuntimeError(f"input_script.py exited {code} without writing its figures")
    stats = json.loads(stats_path.read_text())
    samples = json.loads(samples_path.read_text())
    traffic = _traffic(cursors)
    log.info("validating the DUMPLOG")
    dump = validate_dumplog(run.workdir / "testLOG")
    by_server = dump.get("quote_server_by_server", {})
    trigger_logged = sum(n for server, n in by_server.items() if server.startswith("trigger"))
    # The trigger checker keeps polling while the DUMPLOG is written: its own counter has
    # those requests too, which the dump cannot.
    trigger_hits = sum(n for origin, n in fetches.items() if origin.startswith("trigger"))
    groups = report.group_latencies(samples)
    commands = stats["commands"]
    return {
        **run.label(),
        "settings": {
            "users": users,
            "commands": commands,
            "batch": batch,
            "in_flight": in_flight,
            "seed": args.seed,
            "replicas": args.replicas,
            "workers": {service: int(run.stack.workers(service)) for service in SERVICES},
            "store": _store_label(run.stack),
        },
        "exit_code": code,
        "commands": commands,
        "elapsed_s": stats["elapsed_s"],
        "commands_per_s": stats["commands_per_s"],
        "latency_ms": report.summarize(v for values in samples.values() for v in values),
        "latency_ms_by_command": {cmd: report.summarize(v) for cmd, v in samples.items()},
        "no_quote_latency_ms": report.summarize(groups["no_quote"]),
        "quote_latency_ms": report.summarize(groups["quote"]),
        "time_breakdown": report.time_breakdown(json.loads(timings_path.read_text())),
        "rejected": sum(stats["rejected_by_command"].values()),
        "failed": sum(stats["failed_by_command"].values()),
        "failed_by_command": stats["failed_by_command"],
        "retried": stats.get("retried"),
        "completions_per_s": stats.get("completions_per_s", []),
        "quote_hits": {
            "quote_server": quotes,
            "platform": sum(fetches.values()),
            "logged": stats.get("quote_server_hits"),
            "trigger_logged": trigger_logged,
            **report.quote_bound(symbols, stats["elapsed_s"], trigger_hits),
        },
        "dumplog": {k: v for k, v in dump.items() if k != "quote_server_by_server"},
        "replicas": traffic.replicas,
        "http_status": traffic.nginx,
        "error_causes": traffic.causes,
        "processes": run.sampler.phase(before, after, commands),
    }


def _read_csv(path: Path) -> list[dict]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "", "N/A") else None
    except ValueError:
        return None


def locust_row(row: dict) -> dict:
    """Count and latency percentiles (ms) of one row of Locust's *_stats.csv."""
    return {
        "count": int(row["Request Count"]),
        "failures": int(row["Failure Count"]),
        "p50": _number(row.get("50%")),
        "p95": _number(row.get("95%")),
        "p99": _number(row.get("99%")),
        "max": _number(row.get("Max Response Time")),
        "requests_per_s": _number(row.get("Requests/s")),
    }


def run_locust(run: Run) -> dict:
    """Run tools/locustfile.py headless against NGINX."""
    args = run.args
    prefix = run.workdir / "locust"
    status_path = run.workdir / "locust-status.json"
    argv = [
        str(VENV_BIN / "locust"),
        "-f",
        str(REPO_ROOT / "tools" / "locustfile.py"),
        "--headless",
        "-u",
        str(args.locust_users),
        "-r",
        str(args.spawn_rate),
        "-t",
        f"{args.locust_seconds}s",
        "--host",
        run.stack.nginx_url,
        "--csv",
        str(prefix),
        "--only-summary",
        "--stop-timeout",
        "30",
    ]
    env = {
        **os.environ,
        "SERVICE_PASSWORD": run.password,
        "BENCH_LOCUST_STATUS": str(status_path),
        "BENCH_SOURCES": str(SOURCES),
        "BENCH_SEED": str(args.seed),
        "PYTHONPATH": str(REPO_ROOT),  # the locustfile imports commands.generate
    }
    run.sampler.client_label = "locust (client)"
    cursors = _cursors(run.stack)
    before = run.sampler.mark()
    log.info("locust: %s", shlex.join(argv))
    code = subprocess.run(argv, cwd=REPO_ROOT, env=env, check=False).returncode
    after = run.sampler.mark()
    stats_csv = prefix.with_name("locust_stats.csv")
    if not stats_csv.exists():
        raise RuntimeError(f"locust exited {code} without writing {stats_csv}")
    rows = _read_csv(stats_csv)
    by_name = {r["Name"]: locust_row(r) for r in rows if r["Name"] != "Aggregated"}
    aggregated = next(locust_row(r) for r in rows if r["Name"] == "Aggregated")
    history = [
        r
        for r in _read_csv(prefix.with_name("locust_stats_history.csv"))
        if r.get("Name") == "Aggregated"
    ]
    t0 = int(history[0]["Timestamp"]) if history else 0
    statuses = json.loads(status_path.read_text()) if status_path.exists() else {}
    traffic = _traffic(cursors)
    return {
        **run.label(),
        "exit_code": code,
        "users": args.locust_users,
        "spawn_rate": args.spawn_rate,
        "workers": {service: int(run.stack.workers(service)) for service in SERVICES},
        "duration_s": float(args.locust_seconds),
        "elapsed_s": round(after.t - before.t, 1),
        "think_time": "exponentially, mean 7 s, at most 70 s (TPC-W's think time)",
        "requests_per_s": aggregated["requests_per_s"],
        "aggregated": aggregated,
        "by_name": by_name,
        "statuses": statuses,
        "status_classes": report.status_classes({k: v for k, v in statuses.items() if k != "0"}),
        "transport_errors": statuses.get("0", 0),
        "history": {
            "t": [int(r["Timestamp"]) - t0 for r in history],
            "rps": [_number(r["Requests/s"]) or 0.0 for r in history],
            "users": [int(r["User Count"]) for r in history],
        },
        "replicas": traffic.replicas,
        "http_status": traffic.nginx,
        "error_causes": traffic.causes,
        "processes": run.sampler.phase(before, after, aggregated["count"]),
    }


# ---------------------------------------------------------------------- main


def write_report(results: dict, out: Path) -> Path:
    """Write results.json, the plots and the generated section of benchmarks.md."""
    bench_dir = out / "bench"
    bench_dir.mkdir(parents=True, exist_ok=True)
    (bench_dir / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    plots = report.make_plots(results, bench_dir)
    section = report.render(results, {k: f"bench/{v}" for k, v in plots.items()})
    doc = out / "benchmarks.md"
    existing = doc.read_text() if doc.exists() else "# Benchmarks\n\n"
    doc.write_text(report.merge_into_doc(existing, section))
    return doc


def _machine() -> dict:
    cores = os.cpu_count() or 1
    memory = psutil.virtual_memory().total / 2**30
    load = os.getloadavg()[0]
    return {
        "cores": cores,
        "memory_gib": round(memory),
        "description": (
            f"{cores} cores, {memory:.0f} GiB, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}; load average {load:.1f} when it started"
        ),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--scenario",
        choices=("replay", "latency", "single", "locust", "floor", "big", "chain", "all"),
        default="all",
        help="all: floor, replay, single, latency, locust and chain; big: the 1,200-user run",
    )
    parser.add_argument(
        "--single-commands",
        type=int,
        help="commands of the single-request scenario (30,000; --quick 3,000)",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=100,
        help="commands per BATCH request in the replay and big runs (1: one request each)",
    )
    parser.add_argument("--users", type=int, help="workload users (100; --quick 20)")
    parser.add_argument("--commands", type=int, help="workload commands (100,000; --quick 5,000)")
    parser.add_argument("--seed", type=int, default=1, help="workload and quote-price seed")
    parser.add_argument(
        "--replicas",
        type=int,
        default=int(os.environ.get("SERVICE_REPLICAS") or 2),
        help="gunicorn instances per service (default: $SERVICE_REPLICAS or 2)",
    )
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs", help="report directory")
    parser.add_argument("--quick", action="store_true", help="a small run for development")
    parser.add_argument("--locust-users", type=int, help="simulated users (5,000; --quick 200)")
    parser.add_argument("--locust-seconds", type=int, help="Locust run time (120; --quick 20)")
    parser.add_argument("--spawn-rate", type=int, default=100, help="Locust users started per s")
    parser.add_argument("--floor-seconds", type=int, help="per floor measurement (20; --quick 5)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, data)")
    args = parser.parse_args(argv)
    defaults = QUICK if args.quick else FULL
    for name, key in (
        ("users", "users"),
        ("commands", "commands"),
        ("locust_users", "locust_users"),
        ("locust_seconds", "locust_time"),
        ("floor_seconds", "floor"),
    ):
        if getattr(args, name) is None:
            setattr(args, name, defaults[key])
    return args


def _stack_env(args: argparse.Namespace, password: str) -> dict[str, str]:
    env = {
        "JWT_SECRET": secrets.token_urlsafe(32),
        "ADMIN_PASSWORD": secrets.token_urlsafe(16),
        "SERVICE_PASSWORD": password,
        "REDIS_PASSWORD": secrets.token_urlsafe(32),
        "QUOTE_LATENCY": "realistic",
        "QUOTE_SEED": str(args.seed),
        "TRIGGER_INTERVAL_S": "5",
        "MONGO_DB": "bench",
    }
    env |= {k: v for k, v in os.environ.items() if k.startswith("WEB_CONCURRENCY") and v}
    for key in ("FERRETDB_BACKEND", "LEDGER_STORE"):
        if os.environ.get(key):
            env[key] = os.environ[key]
    return env


def _terminate(signum, frame) -> None:
    # SIGTERM ends the run like Ctrl-C, so the finally blocks stop the stack.
    raise KeyboardInterrupt(f"signal {signum}")


def run_chain(run: Run) -> dict:
    """The chain-node figures (tools/bench_chain.py) on this group's chain stack."""
    sizes = argparse.Namespace(**(CHAIN_QUICK if run.args.quick else CHAIN_FULL))
    return {**run.label(), **bench_chain.run(run.stack, run.workdir, sizes)}


CHAIN_FULL = {"txs": 20_000, "senders": 200, "block_txs": 2000, "blocks": 5000}
CHAIN_QUICK = {"txs": 2000, "senders": 50, "block_txs": 2000, "blocks": 1000}
CHAIN_COMPONENTS = frozenset({"mongo", "redis", "chain", "nginx"})


PHASES = {
    "floor": run_floor,
    "replay": run_replay,
    "latency": run_latency,
    "single": run_single,
    "big": run_big,
    "locust": run_locust,
    "chain": run_chain,
}


def _run_group(run: Run, names: list[str], results: dict) -> None:
    """Start ``run``'s stack, run the scenarios ``names`` on it in order, stop it."""
    try:
        log.info("starting the stack in %s", run.stack.base_dir)
        run.stack.start(timeout=180)
        run.sampler.start()
        for name in names:
            results[name] = PHASES[name](run)
            # Written after every scenario, so a later failure keeps what was measured.
            doc = write_report(results, run.args.out)
            log.info("%s done; report: %s", name, doc)
    finally:
        run.sampler.stop()
        log.info("stopping the stack")
        run.stack.stop()


def main(argv: list[str] | None = None) -> int:
    raw = sys.argv[1:] if argv is None else argv
    args = parse_args(raw)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    signal.signal(signal.SIGTERM, _terminate)
    workdir = Path(tempfile.mkdtemp(prefix="dts-bench-"))
    password = secrets.token_urlsafe(16)
    # The settings that change what is measured are part of the command that reproduces it.
    settings = [
        f"{k}={os.environ[k]}" for k in ("LEDGER_STORE", "FERRETDB_BACKEND") if k in os.environ
    ]
    command = shlex.join([*settings, ".venv/bin/python", "-m", "tools.bench", *raw])
    results_path = args.out / "bench" / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    results["machine"] = _machine()
    # Each group on a stack of its own, started fresh: a scenario's figures do not depend
    # on what ran before it (Locust after the replay and latency runs, on their database,
    # had 134 answers past NGINX's timeout; on a fresh stack none). The share of the floor
    # needs the floor and the replay from one stack.
    groups = {
        "all": [["floor", "replay"], ["single"], ["latency"], ["locust"], ["chain"]],
        "replay": [["floor", "replay"]],
    }.get(args.scenario, [[args.scenario]])
    ok = False
    try:
        for number, names in enumerate(groups, 1):
            chain = names == ["chain"]
            env = _stack_env(args, password)
            if chain:
                env |= {
                    k: v for k, v in bench_chain.stack_env(password).items() if k != "JWT_SECRET"
                }
            stack = Stack(
                workdir / f"stack-{number}",
                Ports.free(args.replicas),
                env,
                replicas=args.replicas,
                components=CHAIN_COMPONENTS if chain else ALL - {"chain"},
            )
            run = Run(args, stack, ProcessSampler(stack), workdir, password, command)
            _run_group(run, names, results)
        ok = True
    finally:
        if ok and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log.info("kept %s (logs in stack-*/logs)", workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
