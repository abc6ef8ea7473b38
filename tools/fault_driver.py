"""What the fault-injection tools share (tools/faults.py, tools/wallet_faults.py,
tools/coin_faults.py, tools/stock_stop_faults.py): the stack's secrets, killing a
supervised program and waiting for supervisord to start it again, a client that retries
what a 5xx or a dropped connection interrupted, the run of seeds and the report section
each one keeps in docs/reliability.md."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import tempfile
import time
import uuid
from collections.abc import Callable, Container, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import pymongo
import requests

from tools.stack import Stack

#: supervisord's start delay after a kill, and then some.
RESTART_LIMIT_S = 30.0
SUCCESS = range(200, 300)


def stack_secrets(db_prefix: str) -> dict[str, str]:
    """Fresh secrets and a database of its own for one fault run's stack."""
    return {
        "JWT_SECRET": uuid.uuid4().hex + uuid.uuid4().hex,
        "ADMIN_PASSWORD": uuid.uuid4().hex,
        "SERVICE_PASSWORD": uuid.uuid4().hex,
        "MONGO_DB": db_prefix + uuid.uuid4().hex[:10],
    }


# ------------------------------------------------------------------------ processes


def child_pids(pid: int) -> list[int]:
    """The children of process ``pid`` (a gunicorn master's workers); none once it died."""
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        return [int(c) for t in tasks for c in (t / "children").read_text().split()]
    except OSError:
        return []


def send_signal(pid: int | None, sig: int) -> bool:
    """Send ``sig`` to ``pid``; False when there is no such process."""
    if not pid:
        return False
    try:
        os.kill(pid, sig)
        return True
    except ProcessLookupError:
        return False


def kill_program(stack: Stack, name: str, wait_s: float = 8.0) -> bool:
    """SIGKILL program ``name``, waiting (at most ``wait_s``) for supervisord to have
    started it again after an earlier kill."""
    deadline = time.monotonic() + wait_s
    while True:
        for program in stack.status():
            if program.name == name and program.state == "RUNNING" and program.pid:
                if send_signal(program.pid, signal.SIGKILL):
                    return True
                break
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def wait_running(stack: Stack, names: Iterable[str], limit_s: float = RESTART_LIMIT_S) -> list[str]:
    """Wait (at most ``limit_s`` for all) until supervisord has started each program of
    ``names`` again after its kills; a problem for each one that is not running."""
    problems = []
    deadline = time.monotonic() + limit_s
    for name in names:
        while True:
            states = [p.state for p in stack.status() if p.name == name]
            if states == ["RUNNING"]:
                break
            if time.monotonic() > deadline:
                problems.append(f"{name} is not running again ({', '.join(states) or 'gone'})")
                break
            time.sleep(0.5)
    return problems


@contextmanager
def stack_db(stack: Stack, timeout_ms: int = 10_000) -> Iterator[Any]:
    """The stack's database, to check the books from; the client closed afterwards."""
    client = pymongo.MongoClient(stack.mongo_uri, serverSelectionTimeoutMS=timeout_ms)
    try:
        yield client[stack.env["MONGO_DB"]]
    finally:
        client.close()


# ------------------------------------------------------------------------ the client


def request_until_answered(
    session: requests.Session,
    method: str,
    url: str,
    ok: Container[int] = SUCCESS,
    limit_s: float = 60,
    **kwargs,
) -> requests.Response:
    """A request retried (same body and headers, so the same Idempotency-Key) while the
    answer is a 5xx or nothing, what a careful client does; any other answer that is not
    ``ok`` is a failure of the run."""
    deadline = time.monotonic() + limit_s
    while True:
        try:
            resp = session.request(method, url, timeout=30, **kwargs)
            if resp.status_code in ok:
                return resp
            if resp.status_code < 500:
                raise AssertionError(f"{method} {url}: {resp.status_code} {resp.text[:300]}")
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{method} {url} did not succeed within {limit_s} s")
        time.sleep(0.3)


class ServiceDriver:
    """Talks to the stack through NGINX as the replayer's service credential."""

    def __init__(self, stack: Stack):
        self.base = stack.nginx_url
        self.session = requests.Session()
        self.session.trust_env = False
        self.headers: dict[str, str] = {}
        token = self.call(
            "POST",
            "/api/users/service-login",
            json={"username": "replayer", "password": stack.env["SERVICE_PASSWORD"]},
        )["token"]
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, limit_s: float = 60, **kwargs) -> dict:
        """The ``data`` of a request retried until answered (see request_until_answered)."""
        kwargs.setdefault("headers", self.headers)
        resp = request_until_answered(
            self.session, method, f"{self.base}{path}", limit_s=limit_s, **kwargs
        )
        return resp.json()["data"]

    def post(self, path: str, body: dict) -> dict:
        # One key for all retries of this one request.
        headers = {**self.headers, "Idempotency-Key": uuid.uuid4().hex}
        return self.call("POST", path, json=body, headers=headers)


# ------------------------------------------------------------------------ runs and reports


class SeedOutcome(Protocol):
    @property
    def ok(self) -> bool: ...


def write_section(path: Path, begin: str, end: str, body: list[str]) -> None:
    """Put ``body`` between the markers ``begin`` and ``end`` of the page at ``path``
    (replacing what stood there, keeping the rest); a page without them gets the section
    at its end."""
    block = "\n".join([begin, *body, end])
    text = path.read_text() if path.exists() else "# Reliability\n"
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)


def run_seeds_command(
    argv: list[str] | None,
    description: str,
    module: str,
    start_stack: Callable[[Path], Stack],
    run_seed: Callable[[Stack, int], SeedOutcome],
    write_report: Callable[[list, Path, str], None],
) -> int:
    """``python -m tools.<module> --seeds N [--first F] [--report PAGE]``: the seeds run
    one after the other on one stack in a temporary folder; exit 0 when all passed."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first", type=int, default=1)
    parser.add_argument("--report", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    log = logging.getLogger(module)
    with tempfile.TemporaryDirectory() as tmp:
        stack = start_stack(Path(tmp) / "stack")
        try:
            results = []
            for seed in range(args.first, args.first + args.seeds):
                results.append(run_seed(stack, seed))
                log.info("seed %d: %s", seed, results[-1])
        finally:
            stack.stop()
    if args.report:
        write_report(results, args.report, f"python -m tools.{module} --seeds {args.seeds}")
    return 0 if all(r.ok for r in results) else 1
