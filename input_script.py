"""Replay a workload file against the platform, one concurrent session per user.

    .venv/bin/python input_script.py WORKLOAD [--url URL] [--batch N] [--json STATS]

The workload is in the course format: ``[n] CMD,arg,...`` (``n`` becomes the command's
transaction number) or ``$ CMD,arg,...`` (numbered in file order). Each user's commands
run in file order; different users run at the same time. An admin ``DUMPLOG,file`` runs
after everything else, and its XML is saved under that file name (relative to the
working directory). At the end it prints commands/s, errors per command, latency
percentiles and quote-server hits. ``--json`` also holds ``completions_per_s`` (commands
answered in each second of the replay); ``--samples`` writes every latency in ms, by
command, and ``--timings`` each single command's latency with the phases of the
platform's ``Server-Timing`` header (tools/bench.py reads all three). ``--batch N``
sends each user's consecutive commands N at a time in one BATCH request
(``POST /api/users/batch``), which the platform runs in order under one account read and
write; the default sends one request per command.

It logs in with the service credential (``SERVICE_PASSWORD`` from the environment or
from ``.env``), which may act for any user. Against a loopback URL it spreads users over
source addresses 127.0.N.1, so NGINX's ip_hash spreads them over service replicas.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import itertools
import json
import logging
import os
import re
import statistics
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
from dotenv import dotenv_values
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    retry_if_result,
    stop_after_delay,
    wait_exponential,
)
from tqdm import tqdm

log = logging.getLogger("replay")
#: Where `make up` writes `.env`: beside this script (the repo root), whatever the
#: directory the replayer is run from.
SCRIPT_DIR = Path(__file__).resolve().parent

# Workload command -> (API path, names of its positional arguments).
COMMANDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "ADD": ("/api/users/add", ("user", "amount")),
    "QUOTE": ("/api/users/quote", ("user", "symbol")),
    "DISPLAY_SUMMARY": ("/api/users/display-summary", ("user",)),
    "BUY": ("/api/buy/buy", ("user", "symbol", "amount")),
    "COMMIT_BUY": ("/api/buy/commit-buy", ("user",)),
    "CANCEL_BUY": ("/api/buy/cancel-buy", ("user",)),
    "SET_BUY_AMOUNT": ("/api/buy/set-buy-amount", ("user", "symbol", "amount")),
    "SET_BUY_TRIGGER": ("/api/buy/set-buy-trigger", ("user", "symbol", "amount")),
    "CANCEL_SET_BUY": ("/api/buy/cancel-set-buy", ("user", "symbol")),
    "SELL": ("/api/sell/sell", ("user", "symbol", "amount")),
    "COMMIT_SELL": ("/api/sell/commit-sell", ("user",)),
    "CANCEL_SELL": ("/api/sell/cancel-sell", ("user",)),
    "SET_SELL_AMOUNT": ("/api/sell/set-sell-amount", ("user", "symbol", "amount")),
    "SET_SELL_TRIGGER": ("/api/sell/set-sell-trigger", ("user", "symbol", "amount")),
    "CANCEL_SET_SELL": ("/api/sell/cancel-set-sell", ("user", "symbol")),
    "DUMPLOG": ("/api/users/dumplog", ("user", "filename")),
}
BATCH_PATH = "/api/users/batch"
BATCHABLE = set(COMMANDS) - {"DUMPLOG"}  # what BATCH runs; the rest go on their own
_TRANSPORT_ERRORS = (TimeoutError, aiohttp.ClientError, OSError)
_TRANSIENT_STATUSES = {502, 503, 504}
_LINE = re.compile(r"^\s*(?:\[(\d+)\]|\$)\s*(.*?)\s*$")


@dataclass
class Line:
    """One workload line: its number, command and raw arguments."""

    txn: int
    command: str
    args: list[str]
    text: str

    @property
    def user(self) -> str | None:
        """The user whose session runs this line (None: runs after all sessions)."""
        if self.command == "DUMPLOG" and len(self.args) < 2:
            return None
        return self.args[0] if self.args else None

    def request(self) -> tuple[str, dict]:
        """The API path and JSON body for this line.

        Arguments are passed as written; the server validates them, so a bad amount or
        a missing argument is answered 400 and logged as an errorEvent there.
        """
        path, names = COMMANDS[self.command]
        if self.command == "DUMPLOG" and len(self.args) < 2:
            names = ("filename",)
        body: dict = {"transactionNum": self.txn}
        body.update(zip(names, self.args, strict=False))
        if len(self.args) > len(names):
            body["extra_arguments"] = self.args[len(names) :]
        return path, body


@dataclass
class Workload:
    lines: list[Line]
    malformed: list[str] = field(default_factory=list)


def parse_workload(text: str) -> Workload:
    """Parse a workload; lines that are not commands are collected, not fatal."""
    workload = Workload([])
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        match = _LINE.match(raw)
        if not match or not match.group(2):
            workload.malformed.append(f"line {number}: not a command: {raw.strip()!r}")
            continue
        txn = int(match.group(1)) if match.group(1) else number
        command, *args = [part.strip() for part in match.group(2).split(",")]
        command = command.upper()
        if command not in COMMANDS:
            workload.malformed.append(f"line {number}: unknown command {command!r}")
            continue
        workload.lines.append(Line(txn, command, args, raw.strip()))
    return workload


@dataclass
class Stats:
    """What the replay measured."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    rejected: Counter = field(default_factory=Counter)  # 4xx: the platform said no
    failed: Counter = field(default_factory=Counter)  # 5xx or no answer
    first_failures: list[str] = field(default_factory=list)
    retried: int = 0  # requests sent again after a dropped connection or a 502/503/504
    started: float | None = None  # perf_counter() when the replay began
    completions: Counter = field(default_factory=Counter)  # whole second -> answers
    keep_timings: bool = False  # keep each single command's Server-Timing (--timings)
    # command -> (seconds, the platform's Server-Timing phases in ms), single requests only
    timings: dict[str, list[tuple[float, dict]]] = field(default_factory=lambda: defaultdict(list))

    def record(
        self,
        line: Line,
        status: int | None,
        seconds: float,
        detail: str,
        server_timing: dict[str, float] | None = None,
    ) -> None:
        self.latencies[line.command].append(seconds)
        if server_timing and self.keep_timings:
            self.timings[line.command].append((seconds, server_timing))
        if self.started is not None:
            self.completions[int(time.perf_counter() - self.started)] += 1
        if status is None or status >= 500:
            self.failed[line.command] += 1
            if len(self.first_failures) < 10:
                self.first_failures.append(f"[{line.txn}] {line.command}: {status} {detail}")
        elif status >= 400:
            self.rejected[line.command] += 1

    def summary(self, elapsed: float, quote_hits: int | None, malformed: int) -> dict:
        every = [s for values in self.latencies.values() for s in values]
        total = len(every)
        return {
            "commands": total,
            "elapsed_s": round(elapsed, 3),
            "commands_per_s": round(total / elapsed, 1) if elapsed > 0 else None,
            "latency_ms": _percentiles(every),
            "latency_ms_by_command": {
                cmd: _percentiles(values) for cmd, values in sorted(self.latencies.items())
            },
            "rejected_by_command": dict(sorted(self.rejected.items())),
            "failed_by_command": dict(sorted(self.failed.items())),
            "malformed_lines": malformed,
            "quote_server_hits": quote_hits,
            "retried": self.retried,
            "completions_per_s": [
                self.completions.get(s, 0) for s in range(max(self.completions, default=-1) + 1)
            ],
        }

    def timings_ms(self) -> dict[str, list[list]]:
        """Each timed command's latency (ms) and the platform's phases, by command."""
        return {
            cmd: [[round(s * 1000, 2), phases] for s, phases in values]
            for cmd, values in sorted(self.timings.items())
        }

    def samples_ms(self) -> dict[str, list[float]]:
        """Every latency in milliseconds, by command."""
        return {
            cmd: [round(s * 1000, 2) for s in values]
            for cmd, values in sorted(self.latencies.items())
        }


def parse_server_timing(value: str | None) -> dict[str, float]:
    """``{phase: ms}`` from a ``Server-Timing`` header (parts without a duration skipped)."""
    phases: dict[str, float] = {}
    for part in (value or "").split(","):
        name, *params = (p.strip() for p in part.split(";"))
        for param in params:
            key, _, number = param.partition("=")
            if name and key == "dur":
                try:
                    phases[name] = float(number)
                except ValueError:
                    pass
    return phases


def _percentiles(values: list[float]) -> dict:
    if not values:
        return {}
    ordered = sorted(values)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else []

    def pct(p: int) -> float:
        return round((cuts[p - 1] if cuts else ordered[0]) * 1000, 2)

    return {
        "count": len(ordered),
        "p50": pct(50),
        "p90": pct(90),
        "p99": pct(99),
        "max": round(ordered[-1] * 1000, 2),
    }


class Replayer:
    """Sends a workload's lines over a few HTTP sessions, one per source address."""

    def __init__(
        self,
        url: str,
        password: str,
        concurrency: int,
        sources: int,
        retry_for: float = 30.0,
        batch: int = 1,
        keep_timings: bool = False,
    ):
        self.url = url.rstrip("/")
        self.batch = batch
        self.retry_for = retry_for
        # Keys of this replay: a retry reuses its command's key, a new replay gets new ones.
        self.run_id = uuid.uuid4().hex[:16]
        self.password = password
        self.limit = asyncio.Semaphore(concurrency)
        self.sources = sources if _is_loopback(self.url) else 1
        self.stats = Stats(keep_timings=keep_timings)
        self.sessions: list[aiohttp.ClientSession] = []
        self.headers: dict[str, str] = {}

    async def __aenter__(self) -> Replayer:
        timeout = aiohttp.ClientTimeout(total=120)
        for n in range(self.sources):
            local = (f"127.0.{n + 1}.1", 0) if self.sources > 1 else None
            connector = aiohttp.TCPConnector(limit=0, local_addr=local)
            self.sessions.append(aiohttp.ClientSession(connector=connector, timeout=timeout))
        await self._login()
        return self

    async def __aexit__(self, *exc) -> None:
        await asyncio.gather(*(s.close() for s in self.sessions))

    async def _login(self) -> None:
        credentials = {"username": "replayer", "password": self.password}
        login = f"{self.url}/api/users/service-login"  # the service credential's own path
        async with self.sessions[0].post(login, json=credentials) as resp:
            body = await resp.json(content_type=None)
            if resp.status != 200:
                raise SystemExit(f"login failed ({resp.status}): {body}")
        self.headers = {"Authorization": f"Bearer {body['data']['token']}"}

    async def quote_hits(self) -> int | None:
        """The platform's count of quoteServer log entries (None if unavailable)."""
        try:
            async with self.sessions[0].get(
                f"{self.url}/api/users/stats", headers=self.headers
            ) as resp:
                body = await resp.json(content_type=None)
                return body["data"]["quoteServer"] if resp.status == 200 else None
        except (aiohttp.ClientError, KeyError, TypeError):
            return None

    async def _post_once(
        self, session: aiohttp.ClientSession, path: str, body: dict, headers: dict
    ) -> tuple[int, bytes, str | None]:
        async with session.post(f"{self.url}{path}", json=body, headers=headers) as resp:
            return resp.status, await resp.read(), resp.headers.get("Server-Timing")

    def _count_retry(self, state: RetryCallState) -> None:
        self.stats.retried += 1

    def _poster(self):
        """``_post_once`` sent again after a dropped connection or a 502/503/504.

        For up to ``retry_for`` seconds, with the same Idempotency-Key: the platform
        answers a retry of a request it already applied with its first answer, so
        nothing happens twice. Retries are counted in the figures.
        """
        return AsyncRetrying(
            stop=stop_after_delay(self.retry_for),
            wait=wait_exponential(multiplier=0.05, max=2.0),
            retry=retry_if_exception_type(_TRANSPORT_ERRORS)
            | retry_if_result(lambda answer: answer[0] in _TRANSIENT_STATUSES),
            before_sleep=self._count_retry,
            retry_error_callback=lambda state: state.outcome.result(),
        ).wraps(self._post_once)

    async def send(self, session: aiohttp.ClientSession, line: Line, progress: tqdm) -> None:
        """Send one line; record its latency and outcome. Never raises for an HTTP error."""
        path, body = line.request()
        headers = {**self.headers, "Idempotency-Key": f"{self.run_id}:{line.txn}"}
        async with self.limit:
            started = time.perf_counter()
            status, detail, spent = None, "", None
            try:
                status, payload, spent = await self._poster()(session, path, body, headers)
                if line.command == "DUMPLOG" and status == 200:
                    _save_dump(body["filename"], payload)
                elif status >= 400:
                    detail = payload[:200].decode("utf-8", "replace")
            except _TRANSPORT_ERRORS as exc:
                detail = repr(exc)
            seconds = time.perf_counter() - started
            self.stats.record(line, status, seconds, detail, parse_server_timing(spent))
        progress.update(1)

    async def send_batch(
        self, session: aiohttp.ClientSession, user: str, lines: list[Line], progress: tqdm
    ) -> None:
        """Send a user's consecutive lines as one BATCH request; record each line.

        Each line's latency runs from the batch's start to its answer. Lines the
        platform did not run (a 503 stopped the batch) go again as a new batch, for up
        to ``retry_for`` seconds; a line that keeps failing is recorded as failed.
        """
        started = time.perf_counter()
        deadline = time.monotonic() + self.retry_for
        for attempt in itertools.count():
            items = [{"command": line.command, **line.request()[1]} for line in lines]
            headers = {
                **self.headers,
                "Idempotency-Key": f"{self.run_id}:{user}:{lines[0].txn}:{attempt}",
            }
            status, detail, answers = None, "", []
            async with self.limit:
                try:
                    status, payload, _ = await self._poster()(
                        session, BATCH_PATH, {"user": user, "commands": items}, headers
                    )
                    if status == 200:
                        answers = json.loads(payload)["data"]["results"]
                    else:
                        detail = payload[:200].decode("utf-8", "replace")
                except _TRANSPORT_ERRORS as exc:
                    detail = repr(exc)
            again = next(
                (n for n, a in enumerate(answers) if a["status"] in _TRANSIENT_STATUSES), None
            )
            if again is None or time.monotonic() > deadline:
                again = len(lines)
            elapsed = time.perf_counter() - started
            for line, answer in itertools.zip_longest(lines[:again], answers[:again]):
                if answer is None:  # the batch itself failed
                    self.stats.record(line, status, elapsed, detail)
                else:
                    error = answer.get("error") or {}
                    self.stats.record(line, answer["status"], elapsed, error.get("message", ""))
            progress.update(again)
            lines = lines[again:]
            if not lines:
                return
            self.stats.retried += 1
            await asyncio.sleep(min(2.0, 0.05 * 2**attempt))

    async def run_user(
        self, session: aiohttp.ClientSession, user: str, lines: list[Line], progress
    ) -> None:
        """The user's lines in order: one request each, or batches of up to ``batch``."""
        for group in requests_for(lines, self.batch):
            if len(group) == 1 and (self.batch <= 1 or group[0].command not in BATCHABLE):
                await self.send(session, group[0], progress)
            else:
                await self.send_batch(session, user, group, progress)

    async def replay(self, workload: Workload, show_progress: bool) -> float:
        by_user: dict[str, list[Line]] = defaultdict(list)
        last: list[Line] = []
        for line in workload.lines:
            (by_user[line.user] if line.user is not None else last).append(line)
        progress = tqdm(
            total=len(workload.lines), unit="cmd", disable=not show_progress, smoothing=0.05
        )
        started = self.stats.started = time.perf_counter()
        with progress:
            await asyncio.gather(
                *(
                    self.run_user(self.sessions[i % len(self.sessions)], user, lines, progress)
                    for i, (user, lines) in enumerate(by_user.items())
                )
            )
            for line in last:  # the admin DUMPLOG: after every acknowledged command
                await self.send(self.sessions[0], line, progress)
        return time.perf_counter() - started


def requests_for(lines: list[Line], batch: int) -> Iterator[list[Line]]:
    """One user's lines as the requests that carry them, in order: runs of batchable
    lines cut into groups of up to ``batch``; every other line (DUMPLOG) alone."""
    size = max(1, batch)
    for batchable, run in itertools.groupby(lines, key=lambda line: line.command in BATCHABLE):
        run = list(run)
        step = size if batchable else 1
        for start in range(0, len(run), step):
            yield run[start : start + step]


def _save_dump(filename: str, payload: bytes) -> None:
    path = Path(filename)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)
    log.info("saved the DUMPLOG to %s (%d bytes)", path, len(payload))


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _service_password(explicit: str | None) -> str:
    password = explicit or os.environ.get("SERVICE_PASSWORD")
    # The working directory's .env first, then the one beside the script.
    for env_file in (Path(".env"), SCRIPT_DIR / ".env"):
        password = password or dotenv_values(env_file).get("SERVICE_PASSWORD")
    if not password:
        raise SystemExit("no service credential: set SERVICE_PASSWORD (make up writes .env)")
    return password


def _report(summary: dict, out) -> None:
    lat = summary["latency_ms"]
    out.write(
        f"\n{summary['commands']} commands in {summary['elapsed_s']:.2f} s: "
        f"{summary['commands_per_s']} commands/s\n"
        f"latency ms: p50 {lat.get('p50')}  p90 {lat.get('p90')}  p99 {lat.get('p99')}  "
        f"max {lat.get('max')}\n"
        f"quote-server hits: {summary['quote_server_hits']}\n"
        f"retried after a dropped connection or 502/503/504: {summary['retried']}\n"
        f"malformed lines: {summary['malformed_lines']}\n"
        f"{'command':<18}{'count':>7}{'rejected':>10}{'failed':>8}{'p50 ms':>9}{'p99 ms':>9}\n"
    )
    for cmd, pct in summary["latency_ms_by_command"].items():
        out.write(
            f"{cmd:<18}{pct['count']:>7}{summary['rejected_by_command'].get(cmd, 0):>10}"
            f"{summary['failed_by_command'].get(cmd, 0):>8}{pct['p50']:>9}{pct['p99']:>9}\n"
        )


async def _main(args: argparse.Namespace) -> int:
    workload = parse_workload(Path(args.workload).read_text())
    for problem in workload.malformed:
        log.warning("skipped %s", problem)
    async with Replayer(
        args.url,
        _service_password(args.password),
        args.concurrency,
        args.sources,
        args.retry_for,
        args.batch,
        keep_timings=bool(args.timings),
    ) as replayer:
        hits_before = await replayer.quote_hits()
        elapsed = await replayer.replay(workload, show_progress=not args.quiet)
        hits_after = await replayer.quote_hits()
    hits = hits_after - hits_before if None not in (hits_before, hits_after) else None
    summary = replayer.stats.summary(elapsed, hits, len(workload.malformed))
    _report(summary, sys.stdout)
    for failure in replayer.stats.first_failures:
        log.error("failed: %s", failure)
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    if args.samples:
        Path(args.samples).write_text(json.dumps(replayer.stats.samples_ms()) + "\n")
    if args.timings:
        Path(args.timings).write_text(json.dumps(replayer.stats.timings_ms()) + "\n")
    return 1 if summary["failed_by_command"] else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", help="workload file in the course format")
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="the NGINX address")
    parser.add_argument("--json", metavar="STATS", help="also write the figures as JSON here")
    parser.add_argument("--samples", metavar="FILE", help="write every latency (ms) as JSON")
    parser.add_argument(
        "--timings",
        metavar="FILE",
        help="write each single command's latency and Server-Timing phases (ms) as JSON",
    )
    parser.add_argument("--password", help="service password (default: SERVICE_PASSWORD)")
    parser.add_argument("--concurrency", type=int, default=256, help="requests in flight")
    parser.add_argument("--sources", type=int, default=16, help="loopback source addresses")
    parser.add_argument(
        "--retry-for",
        type=float,
        default=30.0,
        metavar="S",
        help="resend after a dropped connection or 502/503/504 for up to S seconds",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=1,
        metavar="N",
        help="send each user's consecutive commands N at a time (BATCH); 1: one request each",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    return asyncio.run(_main(args))


if __name__ == "__main__":
    sys.exit(main())
