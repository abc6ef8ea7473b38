"""A small closed-loop HTTP/1.1 load generator for the floor measurement (tools/bench.py).

Keep-alive connections, each sending one GET after another, spread over loopback source
addresses 127.0.N.1 so NGINX's ip_hash reaches every replica (wrk cannot pick a source
address). Several processes share the load, since one Python process tops out near a
core. Only loopback targets are accepted.

    result = run("http://127.0.0.1:8080", "/api/users/ping", duration_s=20, sources=16)
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from urllib.parse import urlsplit

log = logging.getLogger("tools.loadgen")

IO_ERRORS = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError)


@dataclass
class Tally:
    """What one process saw inside the measuring window."""

    latencies_s: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    served_by: Counter = field(default_factory=Counter)
    errors: int = 0

    def merge(self, other: Tally) -> None:
        self.latencies_s += other.latencies_s
        self.statuses.update(other.statuses)
        self.served_by.update(other.served_by)
        self.errors += other.errors


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    """Status code and lower-cased headers of an HTTP/1.1 response head."""
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return status, headers


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> None:
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
        return
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)  # the chunk and its CRLF
            if size == 0:
                return
    raise ValueError("response without a length")


async def _connection(
    host: str, port: int, path: str, source: str, start: float, stop: float, tally: Tally
) -> None:
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    writer = None
    while time.monotonic() < stop:
        began = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port, local_addr=(source, 0))
            writer.write(request)
            status, headers = parse_head(await reader.readuntil(b"\r\n\r\n"))
            await _read_body(reader, headers)
        except IO_ERRORS:
            if time.monotonic() >= start:
                tally.errors += 1
            if writer is not None:
                writer.close()
            writer = None
            await asyncio.sleep(0.01)  # no hot loop against a refusing server
            continue
        if time.monotonic() >= start:  # responses during the warm-up are not counted
            tally.latencies_s.append(time.perf_counter() - began)
            tally.statuses[status] += 1
            tally.served_by[headers.get("x-served-by", "?")] += 1
        if headers.get("connection", "").lower() == "close":
            writer.close()
            writer = None
    if writer is not None:
        writer.close()


async def _worker_main(
    url: str, path: str, sources: list[str], warmup_s: float, duration_s: float
) -> Tally:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    tally = Tally()
    start = time.monotonic() + warmup_s
    stop = start + duration_s
    await asyncio.gather(
        *(_connection(host, port, path, source, start, stop, tally) for source in sources)
    )
    return tally


def _worker(url: str, path: str, sources: list[str], warmup_s: float, duration_s: float):
    tally = asyncio.run(_worker_main(url, path, sources, warmup_s, duration_s))
    return tally.latencies_s, dict(tally.statuses), dict(tally.served_by), tally.errors


def source_addresses(connections: int, sources: int) -> list[str]:
    """The source address of each connection: 127.0.1.1, 127.0.2.1, … round robin."""
    return [f"127.0.{i % sources + 1}.1" for i in range(connections)]


def run(
    url: str,
    path: str,
    *,
    duration_s: float = 20.0,
    warmup_s: float = 2.0,
    connections: int = 64,
    sources: int = 16,
    processes: int = 2,
) -> dict:
    """Load `url + path` for `duration_s` after `warmup_s`; return what was measured."""
    host = urlsplit(url).hostname or ""
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"the load generator only targets loopback addresses, not {host!r}")
    if not 1 <= sources <= 254:
        raise ValueError("sources must be 1..254")
    addresses = source_addresses(connections, sources)
    shares = [addresses[i::processes] for i in range(processes) if addresses[i::processes]]
    total = Tally()
    with ProcessPoolExecutor(len(shares), mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_worker, url, path, share, warmup_s, duration_s) for share in shares]
        for future in futures:
            latencies, statuses, served_by, errors = future.result()
            total.merge(Tally(latencies, Counter(statuses), Counter(served_by), errors))
    answered = len(total.latencies_s)
    # Only what the services served counts: NGINX's per-address limit (nginx/routes.conf)
    # answers a single source's excess with a quick 429, which is not the stack's work.
    served = sum(n for status, n in total.statuses.items() if 200 <= status < 300)
    return {
        "path": path,
        "duration_s": duration_s,
        "connections": connections,
        "sources": sources,
        "processes": len(shares),
        "requests": served,  # what the floor's CPU per request divides by
        "answered": answered,
        "requests_per_s": round(served / duration_s, 1),
        "errors": total.errors,
        "statuses": {str(k): v for k, v in sorted(total.statuses.items())},
        "served_by": dict(sorted(total.served_by.items())),
        "latencies_s": total.latencies_s,
    }
