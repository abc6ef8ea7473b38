"""Integration tests: run ``python -m quote_server`` as a real process and talk to it.

Each server gets free loopback ports and a log file under the test's tmp dir, and is
terminated by PID when the module's tests are done.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
STARTUP_TIMEOUT_S = 10.0

# A hang here would otherwise stall the whole suite; pytest-timeout is in requirements-dev.
pytestmark = pytest.mark.timeout(60)

REPLY_RE = re.compile(
    r"(?P<price>\d+\.\d{2}),(?P<symbol>[^,]*),(?P<user>[^,]+),"
    r"(?P<ts>\d{13}),(?P<key>[A-Za-z0-9+/]{43}=)\n"
)


def free_port():
    """Return a loopback port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class QuoteServerProcess:
    proc: subprocess.Popen
    tcp_port: int
    http_port: int
    log_path: Path

    @property
    def url(self):
        return f"http://{HOST}:{self.http_port}"

    def log(self):
        return self.log_path.read_text(errors="replace")

    def stop(self):
        """Send SIGTERM to the server's PID and reap it; SIGKILL if it lingers."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        return self.proc.returncode


def server_env(**quote_vars):
    # Drop the caller's QUOTE_* settings so only the test's own choices apply.
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUOTE_")}
    env.update(quote_vars)
    return env


def start_server(log_dir, name, **quote_vars):
    """Start a quote server on fresh ports and wait until ``/health`` answers."""
    tcp_port, http_port = free_port(), free_port()
    env = server_env(
        QUOTE_HOST=HOST, QUOTE_TCP_PORT=str(tcp_port), QUOTE_HTTP_PORT=str(http_port), **quote_vars
    )
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "quote_server"],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = QuoteServerProcess(proc, tcp_port, http_port, log_path)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"quote server {name} exited with {proc.returncode}:\n{server.log()}")
        try:
            if requests.get(f"{server.url}/health", timeout=0.5).json() == {"status": "ok"}:
                return server
        except requests.RequestException:
            pass  # not listening yet
        time.sleep(0.05)
    server.stop()
    pytest.fail(f"quote server {name} not healthy after {STARTUP_TIMEOUT_S}s:\n{server.log()}")


@pytest.fixture(scope="module")
def launch(tmp_path_factory):
    """Factory starting quote servers; every one is terminated when the module ends."""
    log_dir = tmp_path_factory.mktemp("quote_server_logs")
    started = []

    def _launch(name, **quote_vars):
        server = start_server(log_dir, name, **quote_vars)
        started.append(server)
        return server

    yield _launch
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def walk_server(launch):
    return launch("walk", QUOTE_SEED="1")


@pytest.fixture(scope="module")
def fixed_server(launch):
    return launch("fixed", QUOTE_FIXED_PRICE="12.34")


@pytest.fixture(scope="module")
def slow_server(launch):
    return launch("slow", QUOTE_LATENCY="200")


def tcp_exchange(port, payload):
    """Send ``payload``, half-close, and return the reply lines read until EOF."""
    with socket.create_connection((HOST, port), timeout=5) as sock:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while data := sock.recv(4096):
            chunks.append(data)
    return b"".join(chunks).decode().splitlines(keepends=True)


def read_line(sock):
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.decode()


def parse_reply(line):
    match = REPLY_RE.fullmatch(line)
    assert match, f"malformed reply {line!r}"
    return match.groupdict()


def http_quote(server, symbol, user):
    response = requests.get(
        f"{server.url}/quote", params={"symbol": symbol, "user": user}, timeout=5
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_tcp_request_gets_a_legacy_quote_line(walk_server):
    before_ms = time.time_ns() // 1_000_000
    [line] = tcp_exchange(walk_server.tcp_port, b"ABC,bob\n")
    reply = parse_reply(line)
    assert (reply["symbol"], reply["user"]) == ("ABC", "bob")
    assert 5.0 <= float(reply["price"]) <= 500.0  # first quote of a symbol is its start price
    assert before_ms - 1_000 <= int(reply["ts"]) <= time.time_ns() // 1_000_000 + 1_000


def test_tcp_fields_are_trimmed_and_a_final_line_needs_no_newline(walk_server):
    [line] = tcp_exchange(walk_server.tcp_port, b"  XY ,  amy  ")
    reply = parse_reply(line)
    assert (reply["symbol"], reply["user"]) == ("XY", "amy")


def test_tcp_serves_several_requests_on_one_connection(walk_server):
    lines = tcp_exchange(walk_server.tcp_port, b"ABC,bob\nQ,amy\r\n")
    assert [(r["symbol"], r["user"]) for r in map(parse_reply, lines)] == [
        ("ABC", "bob"),
        ("Q", "amy"),
    ]


def test_tcp_answers_each_line_without_waiting_for_eof(walk_server):
    with socket.create_connection((HOST, walk_server.tcp_port), timeout=5) as sock:
        for user in ("u1", "u2"):
            sock.sendall(f"KEP,{user}\n".encode())
            assert parse_reply(read_line(sock))["user"] == user


@pytest.mark.parametrize(
    ("payload", "echoed"),
    [
        (b"ABCD,bob\n", "ABC"),
        (b"abc,bob\n", "abc"),
        (b"ABC\n", "ABC"),
        (b"ABC,\n", "ABC"),
        (b"ABC,bob,extra\n", "ABC"),
        (b"hello world\n", "hel"),
    ],
)
def test_tcp_bad_request_answers_na(walk_server, payload, echoed):
    [line] = tcp_exchange(walk_server.tcp_port, payload)
    reply = parse_reply(line)
    assert (reply["price"], reply["symbol"], reply["user"]) == ("0.00", echoed, "NA")


def test_http_quote_returns_json(walk_server):
    body = http_quote(walk_server, "HTP", "bob")
    assert set(body) == {"price", "symbol", "user", "timestamp", "cryptokey"}
    assert re.fullmatch(r"\d+\.\d{2}", body["price"])
    assert (body["symbol"], body["user"]) == ("HTP", "bob")
    assert isinstance(body["timestamp"], int) and body["timestamp"] > 1_600_000_000_000
    assert len(body["cryptokey"]) == 44 and body["cryptokey"].endswith("=")


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"symbol": "ABC"},
        {"user": "bob"},
        {"symbol": "ABCD", "user": "bob"},
        {"symbol": "ABC", "user": " "},
    ],
)
def test_http_quote_rejects_bad_input_with_400(walk_server, params):
    response = requests.get(f"{walk_server.url}/quote", params=params, timeout=5)
    assert response.status_code == 400
    assert set(response.json()) == {"error"}


def test_tcp_and_http_share_one_walk_per_symbol(walk_server):
    prices = [parse_reply(tcp_exchange(walk_server.tcp_port, b"WLK,bob\n")[0])["price"]]
    prices.append(http_quote(walk_server, "WLK", "bob")["price"])
    prices += [http_quote(walk_server, "WLK", "bob")["price"] for _ in range(8)]
    assert len(set(prices)) > 1
    for before, after in zip(prices, prices[1:], strict=False):
        assert abs(float(after) - float(before)) <= float(before) * 0.031 + 0.01


def test_stats_count_quotes_over_both_protocols(walk_server):
    reset = requests.post(f"{walk_server.url}/stats/reset", timeout=5)
    assert reset.json() == {"requests": 0, "by_symbol": {}}
    tcp_exchange(walk_server.tcp_port, b"ABC,bob\nABC,amy\nBAD!,x\n")
    http_quote(walk_server, "ABC", "bob")
    http_quote(walk_server, "XY", "bob")
    requests.get(f"{walk_server.url}/quote", params={"symbol": "1"}, timeout=5)
    stats = requests.get(f"{walk_server.url}/stats", timeout=5).json()
    assert stats == {"requests": 4, "by_symbol": {"ABC": 3, "XY": 1}}
    requests.post(f"{walk_server.url}/stats/reset", timeout=5)
    assert requests.get(f"{walk_server.url}/stats", timeout=5).json()["requests"] == 0


def test_same_seed_replays_the_same_prices_and_sigterm_stops_cleanly(launch, walk_server):
    twin = launch("twin", QUOTE_SEED="1")
    request = b"DET,bob\n" * 5
    expected = [parse_reply(line)["price"] for line in tcp_exchange(walk_server.tcp_port, request)]
    actual = [parse_reply(line)["price"] for line in tcp_exchange(twin.tcp_port, request)]
    assert actual == expected
    assert twin.stop() == 0
    assert "shutting down" in twin.log()


def test_fixed_price_applies_over_tcp_and_http(fixed_server):
    lines = tcp_exchange(fixed_server.tcp_port, b"ABC,bob\nABC,bob\nZ,amy\n")
    assert [parse_reply(line)["price"] for line in lines] == ["12.34"] * 3
    assert http_quote(fixed_server, "QQ", "bob")["price"] == "12.34"
    assert "listening on tcp" in fixed_server.log()


def test_a_pinned_price_moves_one_symbol_until_unpinned(fixed_server):
    url = f"{fixed_server.url}/mock/price"
    assert requests.post(url, json={"symbol": "PIN", "price": "9.07"}, timeout=5).ok
    [line] = tcp_exchange(fixed_server.tcp_port, b"PIN,bob\n")
    assert parse_reply(line)["price"] == "9.07"
    assert http_quote(fixed_server, "PIN", "amy")["price"] == "9.07"
    assert http_quote(fixed_server, "OTH", "amy")["price"] == "12.34"  # others unmoved
    for bad in ({"symbol": "pin", "price": "1.00"}, {"symbol": "PIN", "price": "1.5"}, {}):
        resp = requests.post(url, json=bad, timeout=5)
        assert resp.status_code == 400 and resp.json()["error"].startswith("bad pin")
    assert requests.post(url, json={"symbol": "PIN", "price": None}, timeout=5).ok
    assert http_quote(fixed_server, "PIN", "amy")["price"] == "12.34"


def test_fixed_latency_delays_do_not_block_other_clients(slow_server):
    def tcp_quote():
        return parse_reply(tcp_exchange(slow_server.tcp_port, b"SLO,bob\n")[0])["price"]

    def http_price():
        return http_quote(slow_server, "SLO", "amy")["price"]

    http_price()  # warm up the HTTP connection path so only the delay is timed
    with ThreadPoolExecutor(max_workers=3) as pool:
        start = time.perf_counter()
        futures = [pool.submit(tcp_quote), pool.submit(tcp_quote), pool.submit(http_price)]
        for future in futures:
            future.result()
        elapsed = time.perf_counter() - start
    # Three replies each held 200 ms: concurrent ~0.2 s, serialised would be 0.6 s.
    assert 0.19 <= elapsed < 0.35


def test_malformed_fixed_price_fails_at_startup_with_a_clear_message():
    result = subprocess.run(
        [sys.executable, "-m", "quote_server"],
        cwd=ROOT,
        env=server_env(QUOTE_FIXED_PRICE="12.5", QUOTE_TCP_PORT="0", QUOTE_HTTP_PORT="0"),
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert result.returncode == 2
    assert "QUOTE_FIXED_PRICE" in result.stderr and "12.34" in result.stderr
