"""Run the whole platform on this machine under supervisord.

One launcher serves `make up` (through the CLI at the bottom) and the test fixtures
(through `Stack`). A stack lives in one directory: the rendered supervisord and NGINX
configs, the data of the MongoDB-wire server and Redis, and one log per program in
``<dir>/logs/<program>.log``. Programs run with the repo root as working directory, so
the services also find the repo's ``.env``.

    stack = Stack(tmp_path, Ports.free(), env={"JWT_SECRET": "..."})
    stack.start()
    try:
        ...  # talk to stack.nginx_url, stack.mongo_uri, ...
    finally:
        stack.stop()

Only the CLI reads ``os.environ``; a `Stack` gets everything it passes on in ``env``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import dataclasses
import hashlib
import ipaddress
import logging
import os
import pwd
import re
import resource
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import xmlrpc.client  # nosec B411: only our own supervisord, over its 0700 unix socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

import jinja2
import pymongo
import redis
from coincurve import PrivateKey
from supervisor.xmlrpc import SupervisorTransport

from services.common.config import Settings
from services.common.domain.mining import parse_pools

log = logging.getLogger("tools.stack")

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = REPO_ROOT / "tools" / "templates"
NGINX_DIR = REPO_ROOT / "nginx"
DEFAULT_DIR = REPO_ROOT / "var"
ENV_FILE = REPO_ROOT / ".env"

#: Every component a stack can run; `Stack(components=...)` picks a subset.
ALL = frozenset(
    {
        "mongo",
        "redis",
        "quote",
        "market",
        "services",
        "triggers",
        "relay",
        "coins",
        "events",
        "pools",
        "chain",
        "wallet",
        "nginx",
    }
)
#: Just the servers the integration tests need.
INFRA = frozenset({"mongo", "redis", "quote", "market"})

#: Service packages run by gunicorn, and the NGINX upstream each one sits behind.
SERVICES = ("buy", "sell", "user_utilities", "exchange", "wallet", "mining")
UPSTREAMS = {
    "buy": "api_buy",
    "sell": "api_sell",
    "user_utilities": "api_users",
    "exchange": "api_exchange",
    "wallet": "api_wallet",
    "mining": "api_mining",
}
SERVICE_BASE_PORTS = {
    "buy": 8101,
    "sell": 8201,
    "user_utilities": 8301,
    "exchange": 8401,
    "wallet": 8501,
    "mining": 8601,
}
#: Gunicorn workers per instance. On a full machine each busy worker gets about an equal
#: share of the CPU, so the counts follow each service's share of the work: user-
#: utilities answers every new trader's ADD, every QUOTE and DISPLAY_SUMMARY and every
#: BATCH; sell's commands mostly find their quote cached (docs/benchmarks.md, Locust).
#: docker-compose.yml has the same defaults.
DEFAULT_WORKERS = {
    "buy": 2,
    "sell": 1,
    "user_utilities": 3,
    "exchange": 2,
    "wallet": 2,
    "mining": 1,
}
#: The events gateway (one asyncio process): every Server-Sent Events stream.
EVENTS_UPSTREAM = "api_events"
MAX_LOCAL_REPLICAS = 99
#: Chain-nodes (CHAIN_NODES, default 3) on CHAIN_NODE_PORTS (default 5001,5002,5003), each
#: with its own database and a worker process (miner and peer sync); node 1 is the one
#: behind NGINX at /api/chain/. Gunicorn workers per node: WEB_CONCURRENCY_CHAIN_NODE.
DEFAULT_CHAIN_NODES = 3
CHAIN_BASE_PORT = 5001
DEFAULT_CHAIN_WORKERS = "2"

DEFAULT_MONGO_DB = "daytrading"
#: Secrets that `make up` generates into `.env` on first run.
#: (MONGO_PASSWORD is for docker-compose's mongod; the local one listens on loopback.)
SECRET_KEYS = (
    "JWT_SECRET",
    "ADMIN_PASSWORD",
    "SERVICE_PASSWORD",
    "REDIS_PASSWORD",
    "MONGO_PASSWORD",
)
#: The key sealing the wallet's private keys (a Fernet key: 32 url-safe base64 bytes).
WALLET_KEY = "WALLET_ENCRYPTION_KEY"
#: Settings the CLI passes from the caller's environment to the programs (on top of `.env`).
PASSTHROUGH_KEYS = frozenset(
    {
        *SECRET_KEYS,
        "MONGO_DB",
        "QUOTE_TTL_S",
        "PENDING_TTL_S",
        "QUOTE_TIMEOUT_S",
        "TRIGGER_INTERVAL_S",
        "TOKEN_TTL_S",
        "MAX_BODY_BYTES",
        "USER_LOCK_TIMEOUT_S",
        "RATE_LIMIT_DEFAULT",
        "RATE_LIMIT_AUTH",
        "LOG_LEVEL",
        "WEB_CONCURRENCY",
        "GUNICORN_CMD_ARGS",
        "FERRETDB_BACKEND",
        "EVENTS_MAX_STREAMS_PER_USER",
        "EVENTS_MAX_STREAMS",
        "EVENTS_MAX_STREAM_S",
        "EVENTS_KEEPALIVE_S",
        "EVENTS_CHAIN_NODE",
        "EXCHANGE_FEE_BP",
        "LEDGER_STORE",
        "TRUSTED_PROXIES",
        "SERVICE_LOGIN_NETWORKS",
        "MAX_SETUPS_PER_USER",
        "MAX_ARMED_SYMBOLS",
        "STOP_MAX_ORDERS",
        "STRATEGY_MAX",
        "IDEMPOTENCY_WINDOW_S",
    }
)
PASSTHROUGH_PREFIXES = (
    "QUOTE_",
    "WEB_CONCURRENCY_",
    "MARKET_",
    "CHAIN_",
    "MARGIN_",
    "WALLET_",
    "GAS_KEEPER_",
    "POOL_",
    "MINING_",
)

#: supervisord groups in start order. It stops one group at a time, highest priority
#: first, but every program within a group at once: grouping keeps `stop` quick.
GROUP_PRIORITIES = {
    "infra": 10,
    "services": 20,
    "chain": 25,
    "triggers": 30,
    "wallet": 30,
    "pools": 35,
    "nginx": 40,
}

LOG_TAIL_LINES = 40
_POLL_S = 0.2


class StackError(RuntimeError):
    """The stack could not be started, checked or stopped; the message says why."""


# --------------------------------------------------------------------------- ports


def _free_ports(count: int) -> list[int]:
    """Ask the kernel for `count` distinct free loopback ports."""
    with contextlib.ExitStack() as held:
        ports = []
        for _ in range(count):
            sock = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
        return ports


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # SO_REUSEADDR ignores TIME_WAIT leftovers but still fails on a live listener.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
        return False


def _service_key(service: str) -> str:
    """Accept `user_utilities` and `user-utilities` alike; raise ValueError otherwise."""
    key = service.replace("-", "_")
    if key not in SERVICES:
        raise ValueError(f"unknown service {service!r}; expected one of {', '.join(SERVICES)}")
    return key


@dataclass(frozen=True)
class Ports:
    """Loopback ports of one stack. The defaults are docs/architecture.md's, 2 replicas."""

    nginx: int = 8080
    buy: tuple[int, ...] = (8101, 8102)
    sell: tuple[int, ...] = (8201, 8202)
    user_utilities: tuple[int, ...] = (8301, 8302)
    exchange: tuple[int, ...] = (8401, 8402)
    wallet: tuple[int, ...] = (8501, 8502)
    mining: tuple[int, ...] = (8601, 8602)
    market_feed: int = 4490
    quote_tcp: int = 4444
    quote_http: int = 4480
    redis: int = 16379
    mongo: int = 27018
    postgres: int = 27019  # only with FERRETDB_BACKEND=postgresql
    events: int = 8090
    chain: tuple[int, ...] = tuple(CHAIN_BASE_PORT + i for i in range(DEFAULT_CHAIN_NODES))

    @classmethod
    def local(cls, replicas: int = 2) -> Ports:
        """The documented ports with `replicas` instances per service (8101, 8102, …)."""
        if not 1 <= replicas <= MAX_LOCAL_REPLICAS:
            raise ValueError(f"replicas must be 1..{MAX_LOCAL_REPLICAS}, not {replicas}")
        per_service = {
            name: tuple(base + i for i in range(replicas))
            for name, base in SERVICE_BASE_PORTS.items()
        }
        return cls(**per_service)

    @classmethod
    def free(cls, replicas: int = 2) -> Ports:
        """Free loopback ports chosen by the kernel, for tests that run side by side."""
        if replicas < 1:
            raise ValueError(f"replicas must be at least 1, not {replicas}")
        singles = [f.name for f in fields(cls) if f.name not in (*SERVICES, "chain")]
        ports = iter(_free_ports(len(singles) + replicas * len(SERVICES) + DEFAULT_CHAIN_NODES))
        per_service = {name: tuple(next(ports) for _ in range(replicas)) for name in SERVICES}
        chain = tuple(next(ports) for _ in range(DEFAULT_CHAIN_NODES))
        return cls(chain=chain, **{name: next(ports) for name in singles}, **per_service)

    def service(self, service: str) -> tuple[int, ...]:
        """The instance ports of one service (`buy`, `sell`, `user_utilities`)."""
        return getattr(self, _service_key(service))


# ------------------------------------------------------------------------ .env file


def load_env_file(path: Path) -> dict[str, str]:
    """Read KEY=VALUE lines (comments, blank lines, `export` and quotes allowed)."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def new_wallet_key() -> str:
    """A fresh WALLET_ENCRYPTION_KEY: what cryptography's Fernet.generate_key() makes."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def ensure_cold_wallet(path: Path = ENV_FILE) -> str | None:
    """Give a `.env` without a WALLET_COLD_ADDRESS a fresh cold wallet: only its address
    is written; its private key is returned, for the operator to keep offline (printed
    once, stored nowhere). None when the file has one (or does not exist)."""
    if not path.is_file() or "WALLET_COLD_ADDRESS" in load_env_file(path):
        return None
    from services.common.chain.keys import generate_key

    pair = generate_key()
    with path.open("a") as fh:
        fh.write(f"WALLET_COLD_ADDRESS={pair.address}\n")
    return pair.private_key


def _new_secret(key: str) -> str:
    return new_wallet_key() if key == WALLET_KEY else secrets.token_urlsafe(32)


def ensure_env_file(path: Path = ENV_FILE) -> bool:
    """Create `path` with random secrets unless it exists; return whether it was created.

    A file from before a secret was added (REDIS_PASSWORD, WALLET_ENCRYPTION_KEY) gets
    the missing ones appended."""
    generated = (*SECRET_KEYS, WALLET_KEY)
    if path.exists():
        missing = [key for key in generated if key not in load_env_file(path)]
        if missing:
            with path.open("a") as fh:
                fh.write("".join(f"{key}={_new_secret(key)}\n" for key in missing))
        return False
    lines = [
        "# Local secrets, generated by `make up` on first run. Never commit this file.",
        *(f"{key}={_new_secret(key)}" for key in generated),
    ]
    # O_EXCL: never overwrite a file that appeared in the meantime.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return True


def ensure_pool_keys(path: Path = ENV_FILE) -> bool:
    """Add POOL_KEYS (a fresh secp256k1 key for each default pool) to `path` unless it
    has them; return whether it was added. An `.env` from before mining gets them too."""
    if "POOL_KEYS" in load_env_file(path):
        return False
    default_pools = Settings.model_fields["pool_definitions"].default
    names = [pool.id for pool in parse_pools(default_pools)]
    keys = ",".join(f"{name}={PrivateKey().to_hex()}" for name in names)
    with path.open("a") as fh:
        fh.write(f"# The pools' payout keys (their coinbases and payouts).\nPOOL_KEYS={keys}\n")
    return True


# ------------------------------------------------------------------ processes, pids


def _proc_start_time(pid: int) -> int | None:
    """The kernel's start time of `pid` (to tell it from a later process with the same
    pid), or None when it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name in parentheses may contain spaces; fields follow the last ')'.
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def _pid_alive(pid: int) -> bool:
    # Zombies count as gone: PID 1 in some sandboxes never reaps orphans.
    return _proc_start_time(pid) is not None


def _wait_gone(pids: Iterable[int], timeout: float) -> list[int]:
    """Wait until all `pids` are gone; return the ones still alive at the deadline."""
    deadline = time.monotonic() + timeout
    alive = [pid for pid in pids if _pid_alive(pid)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [pid for pid in alive if _pid_alive(pid)]
    return alive


def _find_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    # /usr/sbin is not on every user's PATH, but Debian puts nginx there.
    for directory in ("/usr/sbin", "/usr/local/sbin", "/usr/bin"):
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def _postgres_bin_dir() -> Path:
    """Debian's PostgreSQL server binaries (the newest installed major version)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: p.parts)
    if not found:
        raise StackError("FERRETDB_BACKEND=postgresql needs Debian's postgresql package")
    return found[-1].parent


def _give_to_postgres(data_dir: Path) -> None:
    """Let the postgres user own the data dir and reach it through its parents."""
    shutil.chown(data_dir, user="postgres", group="postgres")
    for parent in data_dir.parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)  # search (x) only: names stay unlisted


def _venv_bin() -> Path:
    """The bin dir holding python, gunicorn and supervisord: the repo's venv if present."""
    venv = REPO_ROOT / ".venv" / "bin"
    if (venv / "python").exists():
        return venv
    return Path(sys.executable).parent


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 64 * 1024))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:]) or f"({path} is empty)"


# ---------------------------------------------------------------- config rendering


def _redis_quoted(value: str) -> str:
    if any(ch in value for ch in '"\\\n\r'):
        raise StackError("REDIS_PASSWORD cannot hold quotes, backslashes or line breaks")
    return value


def _sv_escape(value: object) -> str:
    """Escape a value for supervisord, which expands %(name)s in config values.

    Its ini parser also cuts a line at " ;" or " #" (inline comments) and cannot hold a
    line break; such values raise StackError instead of being silently cut.
    """
    text = str(value)
    if "\n" in text or "\r" in text or re.search(r"\s[;#]", text):
        raise StackError(f"cannot write {text!r} into supervisord.conf")
    return text.replace("%", "%%")


def _sv_command(argv: Iterable[str]) -> str:
    # supervisord splits `command` with shlex, so shlex.join round-trips.
    return _sv_escape(shlex.join(argv))


def _sv_environment(env: Mapping[str, str]) -> str:
    """Render KEY="value",... as supervisord's (non-POSIX shlex) parser reads it back."""
    items = []
    for key, value in sorted(env.items()):
        if not key.isidentifier():
            raise StackError(f"environment variable name {key!r} is not valid")
        quote = '"' if '"' not in value else "'"
        # The parser strips quote characters from both ends of every value.
        edge_quote = bool(value) and (value[0] in "'\"" or value[-1] in "'\"")
        if quote in value or "\n" in value or edge_quote:
            raise StackError(f"the value of {key} cannot be passed through supervisord")
        items.append(f"{key}={quote}{value}{quote}")
    return _sv_escape(",".join(items))


def _jinja_env() -> jinja2.Environment:
    # Config files, not HTML: autoescaping would corrupt them (values are escaped for
    # supervisord by the `sv` filter instead).
    env = jinja2.Environment(  # nosec B701
        loader=jinja2.FileSystemLoader([TEMPLATES_DIR, NGINX_DIR]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["sv"] = _sv_escape
    env.filters["command"] = _sv_command
    env.filters["environment"] = _sv_environment
    return env


def _write_if_changed(path: Path, text: str, mode: int = 0o600) -> bool:
    """Write atomically; return whether the content changed."""
    if path.exists() and path.read_text() == text:
        return False
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.chmod(mode)
    tmp.replace(path)
    return True


# --------------------------------------------------------------------------- stack


@dataclass(frozen=True)
class ProgramStatus:
    """One supervised program as supervisord reports it."""

    name: str
    group: str
    state: str
    pid: int | None
    description: str

    @property
    def qualified_name(self) -> str:
        """The name supervisorctl and the XML-RPC API take: `group:name`."""
        return f"{self.group}:{self.name}"


@dataclass(frozen=True)
class _Program:
    name: str
    group: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    startsecs: int = 1
    stopsignal: str = "TERM"
    user: str | None = None
    umask: str | None = None  # octal, e.g. "077" for files only their owner reads


@dataclass(frozen=True)
class _Check:
    program: str
    what: str
    probe: Callable[[], None]


class Stack:
    """The platform's processes under one supervisord, rooted at `base_dir`.

    `components` picks what runs: any of "mongo", "redis", "quote", "market" (the market
    feed), "services" (every service × `replicas` gunicorn instances), "triggers",
    "relay" (the market relay), "coins" (the coin checker), "events", "chain" and "nginx".
    """

    def __init__(
        self,
        base_dir: Path,
        ports: Ports,
        env: Mapping[str, str],
        replicas: int = 2,
        components: Iterable[str] = ALL,
    ) -> None:
        self.base_dir = Path(base_dir).resolve()
        self.ports = ports
        self.env = dict(env)
        self.replicas = replicas
        self.components = frozenset(components)
        unknown = self.components - ALL
        if unknown:
            raise ValueError(f"unknown components {sorted(unknown)}; choose from {sorted(ALL)}")
        if replicas < 1:
            raise ValueError(f"replicas must be at least 1, not {replicas}")
        for service in SERVICES:
            if len(ports.service(service)) < replicas:
                raise ValueError(f"ports has fewer than {replicas} ports for {service}")
        self.chain_nodes = int(self.env.get("CHAIN_NODES") or DEFAULT_CHAIN_NODES)
        if "chain" in self.components and not 1 <= self.chain_nodes <= len(ports.chain):
            raise ValueError(
                f"CHAIN_NODES must be 1..{len(ports.chain)} (the chain ports), "
                f"not {self.chain_nodes}"
            )

        self.logs_dir = self.base_dir / "logs"
        self.conf_path = self.base_dir / "supervisord.conf"
        self.pidfile = self.base_dir / "supervisord.pid"
        self.nginx_dir = self.base_dir / "nginx"
        self.nginx_conf = self.nginx_dir / "nginx.conf"
        socket_path = self.base_dir / "supervisor.sock"
        if len(str(socket_path)) > 100:
            # AF_UNIX paths are limited to 108 bytes; deep tmp dirs can exceed that.
            digest = hashlib.sha256(str(self.base_dir).encode()).hexdigest()[:16]
            # A name derived from the stack dir; the socket itself is created 0700.
            socket_path = Path("/tmp") / f"daytrading-stack-{digest}.sock"  # nosec B108
        self.socket_path = socket_path

    # ------------------------------------------------------------------ addresses

    @property
    def nginx_url(self) -> str:
        """Base URL of NGINX, without a trailing slash."""
        return f"http://127.0.0.1:{self.ports.nginx}"

    @property
    def mongo_uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.ports.mongo}/"

    @property
    def redis_url(self) -> str:
        password = self.env.get("REDIS_PASSWORD")
        auth = f":{urllib.parse.quote(password, safe='')}@" if password else ""
        return f"redis://{auth}127.0.0.1:{self.ports.redis}/0"

    @property
    def quote_addr(self) -> str:
        """host:port of the quote server's TCP protocol."""
        return f"127.0.0.1:{self.ports.quote_tcp}"

    @property
    def quote_http_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.quote_http}"

    @property
    def events_url(self) -> str:
        """Base URL of the events gateway."""
        return f"http://127.0.0.1:{self.ports.events}"

    @property
    def market_feed_url(self) -> str:
        """Base URL of the market feed (Bithumb-style public API)."""
        return f"http://127.0.0.1:{self.ports.market_feed}"

    @property
    def service_login_networks(self) -> list[str]:
        """Who may reach the service sign-in through NGINX (SERVICE_LOGIN_NETWORKS,
        CIDRs separated by commas; loopback by default)."""
        text = self.env.get("SERVICE_LOGIN_NETWORKS") or "127.0.0.0/8,::1/128"
        try:
            return [str(ipaddress.ip_network(part.strip())) for part in text.split(",") if part]
        except ValueError as exc:
            raise StackError(f"SERVICE_LOGIN_NETWORKS: {exc}") from None

    def instance_urls(self, service: str) -> list[str]:
        """Base URLs of the gunicorn instances of `service` (`buy`, `sell`, ...)."""
        ports = self.ports.service(service)[: self.replicas]
        return [f"http://127.0.0.1:{port}" for port in ports]

    @property
    def chain_urls(self) -> list[str]:
        """Base URLs of the chain-nodes (node 1 first; it is the one behind NGINX)."""
        return [f"http://127.0.0.1:{port}" for port in self.ports.chain[: self.chain_nodes]]

    @property
    def supervisord_pid(self) -> int | None:
        """PID of this stack's supervisord if it is running."""
        try:
            pid = int(self.pidfile.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return None
        # A stale pidfile may name an unrelated process that got the same pid.
        ours = str(self.conf_path).encode() in cmdline
        return pid if ours and _pid_alive(pid) else None

    # ------------------------------------------------------------------- programs

    def service_env(self, server_name: str) -> dict[str, str]:
        env = dict(self.env)
        env.setdefault("MONGO_DB", DEFAULT_MONGO_DB)
        addresses = {
            "MONGO_URI": ("mongo", self.mongo_uri),
            "REDIS_URL": ("redis", self.redis_url),
            "QUOTE_SERVER_ADDR": ("quote", self.quote_addr),
            "MARKET_FEED_URL": ("market", self.market_feed_url),
        }
        for key, (component, value) in addresses.items():
            # Our own servers win; without them the caller may point elsewhere.
            if component in self.components or key not in env:
                env[key] = value
        env["SERVER_NAME"] = server_name
        env["LEDGER_STORE"] = self.ledger_store  # what Redis was configured for
        env["PYTHONUNBUFFERED"] = "1"
        env[WALLET_KEY] = self.wallet_encryption_key()
        if self.chain_node_url is not None:
            env["WALLET_CHAIN_NODE_URL"] = self.chain_node_url
            if "chain" in self.components and not self.env.get("WALLET_CHAIN_NODE_URL"):
                env["WALLET_CHAIN_NODE_NAME"] = "node1"  # its event topic is chain:node1
        return env

    def wallet_encryption_key(self) -> str:
        """The WALLET_ENCRYPTION_KEY of this stack's wallet: the env's, else (test stacks)
        one of its own kept in the stack dir, so a restarted stack still opens the keys
        it sealed."""
        if self.env.get(WALLET_KEY):
            return self.env[WALLET_KEY]
        path = self.base_dir / "wallet-encryption.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(new_wallet_key())
        return path.read_text().strip()

    @property
    def chain_node_url(self) -> str | None:
        """The chain-node the wallet follows and sends through: WALLET_CHAIN_NODE_URL, else
        this stack's node 1 when it runs chain-nodes."""
        if self.env.get("WALLET_CHAIN_NODE_URL"):
            return self.env["WALLET_CHAIN_NODE_URL"]
        return self.chain_urls[0] if "chain" in self.components else None

    def _wallet_programs(self, python: str) -> list[_Program]:
        """The wallet's block analyser and collection worker: only with a chain-node to
        follow (never the default port's, which may be another stack's)."""
        if self.chain_node_url is None:
            return []
        return [
            _Program(
                f"wallet-{role}",
                "wallet",
                (python, "-m", f"services.wallet.{role}"),
                self.service_env(f"wallet-{role}"),
            )
            for role in ("analyser", "worker")
        ]

    def _mongo_program(self) -> _Program:
        data_dir = self.base_dir / "mongo"
        mongod = _find_binary("mongod")
        if mongod:
            argv = [
                mongod,
                "--dbpath",
                str(data_dir),
                "--bind_ip",
                "127.0.0.1",
                "--port",
                str(self.ports.mongo),
            ]
        else:
            ferretdb = REPO_ROOT / ".bin" / "ferretdb"
            if not ferretdb.is_file():
                raise StackError(f"neither mongod nor {ferretdb} found; run `make deps`")
            if self.ferretdb_backend == "postgresql":
                storage = [
                    "--handler=postgresql",
                    f"--postgresql-url=postgres://postgres@127.0.0.1:{self.ports.postgres}"
                    "/postgres",
                ]
            else:
                storage = ["--handler=sqlite", f"--sqlite-url=file:{data_dir}/"]
            argv = [
                str(ferretdb),
                *storage,
                f"--state-dir={data_dir}",
                f"--listen-addr=127.0.0.1:{self.ports.mongo}",
                # FerretDB's debug HTTP server defaults to a fixed port (8088), which
                # would clash between stacks.
                "--debug-addr=-",
                "--telemetry=disable",
                # At "warn" FerretDB dumps a whole wire message for every unsupported
                # command, e.g. each endSessions that pymongo sends on close.
                "--log-level=error",
            ]
            # Its live heap is a few MiB, so at Go's default (100) it collected 40 times
            # a second under load, a tenth of its CPU; 400 collects a quarter as often
            # for a few MiB more.
            # umask 077: the SQLite files hold every account and log entry (0600).
            return _Program("mongo", "infra", tuple(argv), env={"GOGC": "400"}, umask="077")
        return _Program("mongo", "infra", tuple(argv))

    @property
    def ferretdb_backend(self) -> str:
        """FerretDB's storage: ``sqlite`` (default) or ``postgresql`` (FERRETDB_BACKEND).

        PostgreSQL handles concurrent writers far better (docs/benchmarks.md) at the cost
        of one more server; mongod, when present, is used instead of either.
        """
        backend = self.env.get("FERRETDB_BACKEND", "sqlite")
        if backend not in ("sqlite", "postgresql"):
            raise StackError(f"FERRETDB_BACKEND must be sqlite or postgresql, not {backend!r}")
        return backend

    def _uses_postgres(self) -> bool:
        return (
            "mongo" in self.components
            and self.ferretdb_backend == "postgresql"
            and not _find_binary("mongod")
        )

    def _postgres_program(self) -> _Program:
        """PostgreSQL for FerretDB, initialised on first use; it refuses to run as root."""
        bin_dir = _postgres_bin_dir()
        data_dir = self.base_dir / "postgres"
        if not (data_dir / "PG_VERSION").exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            _give_to_postgres(data_dir)
            subprocess.run(
                [
                    "runuser",
                    "-u",
                    "postgres",
                    "--",
                    str(bin_dir / "initdb"),
                    "-D",
                    str(data_dir),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--no-sync",
                ],
                check=True,
                capture_output=True,
            )
        argv = (
            str(bin_dir / "postgres"),
            "-D",
            str(data_dir),
            "-p",
            str(self.ports.postgres),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={data_dir}",
        )
        return _Program("postgres", "infra", argv, user="postgres", stopsignal="INT")

    @property
    def ledger_store(self) -> str:
        """Where the services store commands (LEDGER_STORE; services/common/config.py)."""
        return self.env.get("LEDGER_STORE") or os.environ.get("LEDGER_STORE") or "database"

    def _redis_program(self) -> _Program:
        redis_server = _find_binary("redis-server")
        if not redis_server:
            raise StackError("redis-server not found; run `make deps`")
        # The journal (LEDGER_STORE=journal) is acknowledged once in the append-only
        # file and fsynced: Redis answers a write only after that (docs/reliability.md).
        journal = self.ledger_store == "journal"
        argv = [
            redis_server,
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.ports.redis),
            "--save",
            "",
            "--appendonly",
            "yes" if journal else "no",
            "--appendfsync",
            "always" if journal else "everysec",
            "--dir",
            str(self.base_dir / "redis"),
            "--daemonize",
            "no",
            "--logfile",
            "",
        ]
        password = self.env.get("REDIS_PASSWORD")
        if password:
            # In a 0600 file, not on the command line where `ps` shows it.
            conf = self.base_dir / "redis" / "auth.conf"
            conf.parent.mkdir(parents=True, exist_ok=True)
            _write_if_changed(conf, f'requirepass "{_redis_quoted(password)}"\n', 0o600)
            argv.insert(1, str(conf))
        return _Program("redis", "infra", tuple(argv))

    def workers(self, service: str) -> str:
        """Gunicorn workers per instance of ``service``: WEB_CONCURRENCY_<SERVICE> (e.g.
        WEB_CONCURRENCY_USER_UTILITIES), else WEB_CONCURRENCY (every service), else the
        service's default."""
        own = self.env.get(f"WEB_CONCURRENCY_{service.upper()}")
        return own or self.env.get("WEB_CONCURRENCY") or str(DEFAULT_WORKERS[service])

    def _programs(self) -> list[_Program]:
        """Every program of this stack, in start order, each in its supervisord group."""
        bin_dir = _venv_bin()
        python = str(bin_dir / "python")
        programs: list[_Program] = []
        if self._uses_postgres():
            programs.append(self._postgres_program())
        if "mongo" in self.components:
            programs.append(self._mongo_program())
        if "redis" in self.components:
            programs.append(self._redis_program())
        if "quote" in self.components:
            quote_env = {
                **self.env,
                "QUOTE_HOST": "127.0.0.1",
                "QUOTE_TCP_PORT": str(self.ports.quote_tcp),
                "QUOTE_HTTP_PORT": str(self.ports.quote_http),
                "PYTHONUNBUFFERED": "1",
            }
            programs.append(
                _Program("quote-server", "infra", (python, "-m", "quote_server"), quote_env)
            )
        if "market" in self.components:
            feed_env = {
                **self.env,
                "MARKET_FEED_HOST": "127.0.0.1",
                "MARKET_FEED_PORT": str(self.ports.market_feed),
                "PYTHONUNBUFFERED": "1",
            }
            programs.append(
                _Program("market-feed", "infra", (python, "-m", "market_feed"), feed_env)
            )
        if "services" in self.components:
            for service in SERVICES:
                workers = self.workers(service)
                for name, port in zip(
                    self._instance_names(service), self.ports.service(service), strict=False
                ):
                    argv = (
                        str(bin_dir / "gunicorn"),
                        "--config",
                        str(REPO_ROOT / "services" / "gunicorn.conf.py"),
                        f"services.{service}:create_app()",
                        "-b",
                        f"127.0.0.1:{port}",
                        "--workers",
                        workers,
                    )
                    programs.append(_Program(name, "services", argv, self.service_env(name)))
        if "services" in self.components:
            # Writes the journal to the database behind the services (LEDGER_STORE).
            programs.append(
                _Program(
                    "persister",
                    "services",
                    (python, "-m", "services.persister"),
                    self.service_env("persister"),
                )
            )
        if "events" in self.components:
            argv = (python, "-m", "services.events", "--bind", f"127.0.0.1:{self.ports.events}")
            programs.append(_Program("events", "services", argv, self.service_env("events")))
        if "chain" in self.components:
            programs += self._chain_programs(bin_dir)
        if "triggers" in self.components:
            programs.append(
                _Program(
                    "trigger-checker",
                    "triggers",
                    (python, "-m", "services.trigger_checker"),
                    self.service_env("trigger-checker"),
                )
            )
        if "coins" in self.components:  # the coin checker
            programs.append(
                _Program(
                    "coin-checker",
                    "triggers",
                    (python, "-m", "services.coin_checker"),
                    self.service_env("coin-checker"),
                )
            )
        if "relay" in self.components:
            programs.append(
                _Program(
                    "market-relay",
                    "triggers",
                    (python, "-m", "services.market_relay"),
                    self.service_env("market-relay"),
                )
            )
        if "wallet" in self.components:
            programs += self._wallet_programs(python)
        if "pools" in self.components:
            engine_env = self.service_env("pool-engine")
            if "chain" in self.components:
                engine_env["POOL_CHAIN_URL"] = self.chain_urls[0]
            argv = (python, "-m", "services.pool_engine")
            programs.append(_Program("pool-engine", "pools", argv, engine_env))
        if "nginx" in self.components:
            nginx = _find_binary("nginx")
            if not nginx:
                raise StackError("nginx not found; run `make deps`")
            argv = (nginx, "-p", f"{self.nginx_dir}/", "-c", str(self.nginx_conf), "-e", "stderr")
            # TERM is NGINX's fast shutdown; supervisord waits for it.
            programs.append(_Program("nginx", "nginx", argv))
        return programs

    def chain_env(self, number: int) -> dict[str, str]:
        """The environment of chain-node ``number`` (1-based) and of its worker: its own
        database, name and URL, and every other node as a peer."""
        env = self.service_env(f"chain-node-{number}")
        urls = self.chain_urls
        env["MONGO_DB"] = f"{env['MONGO_DB']}_chain{number}"
        env["CHAIN_NODE_NAME"] = f"node{number}"
        env["CHAIN_NODE_URL"] = urls[number - 1]
        env["CHAIN_PEERS"] = ",".join(url for url in urls if url != urls[number - 1])
        if "pools" in self.components:
            # The pool engine is the network's block clock (it asks for the rest of the
            # network's blocks with /mine): the nodes' own timer would add more.
            env.setdefault("CHAIN_MINER_INTERVAL_S", "0")
        return env

    def _chain_programs(self, bin_dir: Path) -> list[_Program]:
        workers = self.env.get("WEB_CONCURRENCY_CHAIN_NODE") or DEFAULT_CHAIN_WORKERS
        programs = []
        for number, port in enumerate(self.ports.chain[: self.chain_nodes], start=1):
            env = self.chain_env(number)
            argv = (
                str(bin_dir / "gunicorn"),
                "--config",
                str(REPO_ROOT / "services" / "gunicorn.conf.py"),
                "services.chain_node:create_app()",
                "-b",
                f"127.0.0.1:{port}",
                "--workers",
                workers,
            )
            programs.append(_Program(f"chain-node-{number}", "chain", argv, env))
            worker_argv = (str(bin_dir / "python"), "-m", "services.chain_node.worker")
            worker_env = {**env, "SERVER_NAME": f"chain-worker-{number}"}
            programs.append(_Program(f"chain-worker-{number}", "chain", worker_argv, worker_env))
        return programs

    def _instance_names(self, service: str) -> list[str]:
        prefix = service.replace("_", "-")
        return [f"{prefix}-{i}" for i in range(1, self.replicas + 1)]

    def _ports_in_use(self) -> list[int]:
        return [port for port in self._own_ports() if _port_in_use(port)]

    def _own_ports(self) -> list[int]:
        ports = []
        if "mongo" in self.components:
            ports.append(self.ports.mongo)
        if "redis" in self.components:
            ports.append(self.ports.redis)
        if "quote" in self.components:
            ports += [self.ports.quote_tcp, self.ports.quote_http]
        if "market" in self.components:
            ports.append(self.ports.market_feed)
        if "services" in self.components:
            for service in SERVICES:
                ports += self.ports.service(service)[: self.replicas]
        if "events" in self.components:
            ports.append(self.ports.events)
        if "chain" in self.components:
            ports += self.ports.chain[: self.chain_nodes]
        if "nginx" in self.components:
            ports.append(self.ports.nginx)
        return ports

    # ------------------------------------------------------------------ rendering

    def render(self) -> set[Path]:
        """Write the supervisord (and NGINX) configs; return the files that changed."""
        for directory in (self.base_dir, self.logs_dir, self.base_dir / "mongo"):
            directory.mkdir(parents=True, exist_ok=True)
        (self.base_dir / "redis").mkdir(exist_ok=True)
        templates = _jinja_env()
        changed = set()
        if "nginx" in self.components:
            for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
                (self.nginx_dir / "tmp" / sub).mkdir(parents=True, exist_ok=True)
            mime_types = Path("/etc/nginx/mime.types")
            text = templates.get_template("local.conf.j2").render(
                nginx_dir=self.nginx_dir,
                port=self.ports.nginx,
                upstreams={
                    **{UPSTREAMS[s]: self.ports.service(s)[: self.replicas] for s in SERVICES},
                    EVENTS_UPSTREAM: (self.ports.events,),
                    # Node 1 only: a chain-node is one node, not a replica of the others.
                    "chain_node": self.ports.chain[:1],
                },
                routes_conf=NGINX_DIR / "routes.conf",
                service_login_networks=self.service_login_networks,
                frontend_root=REPO_ROOT / "frontend" / "dist",
                mime_types=mime_types if mime_types.is_file() else None,
                user=pwd.getpwuid(os.geteuid()).pw_name if os.geteuid() == 0 else None,
            )
            if _write_if_changed(self.nginx_conf, text, 0o644):
                changed.add(self.nginx_conf)
        programs = self._programs()
        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        text = templates.get_template("supervisord.conf.j2").render(
            base_dir=self.base_dir,
            logs_dir=self.logs_dir,
            socket_path=self.socket_path,
            pidfile=self.pidfile,
            repo_root=REPO_ROOT,
            identifier=f"daytrading:{self.base_dir}",
            # NGINX's 8192 connections per worker need more than the usual 1024 fds.
            minfds=16384 if hard == resource.RLIM_INFINITY else min(16384, hard),
            programs=programs,
            groups={
                group: [p.name for p in programs if p.group == group]
                for group in GROUP_PRIORITIES
                if any(p.group == group for p in programs)
            },
            group_priorities=GROUP_PRIORITIES,
        )
        # 0600: the programs' environment holds the secrets.
        if _write_if_changed(self.conf_path, text, 0o600):
            changed.add(self.conf_path)
        return changed

    # ----------------------------------------------------------------- supervisor

    def _rpc(self) -> xmlrpc.client.ServerProxy:
        transport = SupervisorTransport(None, None, f"unix://{self.socket_path}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    def is_running(self) -> bool:
        """Whether this stack's supervisord is up and answering."""
        if self.supervisord_pid is None:
            return False
        try:
            return self._rpc().supervisor.getState()["statename"] == "RUNNING"
        except (OSError, xmlrpc.client.Error):
            return False

    def status(self) -> list[ProgramStatus]:
        """State of every program (RUNNING, STARTING, BACKOFF, ...); [] when not running."""
        if self.supervisord_pid is None:
            return []
        try:
            infos = self._rpc().supervisor.getAllProcessInfo()
        except (OSError, xmlrpc.client.Error):
            return []
        return [
            ProgramStatus(
                name=info["name"],
                group=info["group"],
                state=info["statename"],
                pid=info["pid"] or None,
                description=info["description"],
            )
            for info in infos
        ]

    def _supervisorctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(_venv_bin() / "supervisorctl"), "-c", str(self.conf_path), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def _launch_supervisord(self) -> None:
        out_path = self.logs_dir / "supervisord.out"
        with out_path.open("ab") as out:
            # supervisord forks into the background and the first process exits.
            result = subprocess.run(
                [str(_venv_bin() / "supervisord"), "-c", str(self.conf_path)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=REPO_ROOT,
                timeout=60,
                check=False,
            )
        if result.returncode != 0:
            raise StackError(f"supervisord did not start:\n{_tail(out_path)}")
        deadline = time.monotonic() + 15
        while not self.is_running():
            if time.monotonic() > deadline:
                raise StackError(
                    f"supervisord is not answering on {self.socket_path}:\n"
                    f"{_tail(self.logs_dir / 'supervisord.log')}"
                )
            time.sleep(_POLL_S)

    def _reconcile(self, changed: set[Path]) -> None:
        """Bring a running stack in line with freshly rendered configs."""
        # `update` adds, removes and restarts programs whose config changed.
        result = self._supervisorctl("update")
        if result.returncode != 0:
            raise StackError(f"supervisorctl update failed:\n{result.stdout}{result.stderr}")
        rpc = self._rpc()
        for program in self.status():
            if program.state in ("STOPPED", "EXITED", "FATAL"):
                log.info("starting %s (was %s)", program.name, program.state)
                with contextlib.suppress(xmlrpc.client.Fault):
                    rpc.supervisor.startProcess(program.qualified_name, False)
        if self.nginx_conf in changed and "nginx" in self.components:
            with contextlib.suppress(xmlrpc.client.Fault):
                rpc.supervisor.signalProcess("nginx:nginx", "HUP")

    # -------------------------------------------------------------------- health

    def _checks(self) -> list[_Check]:
        checks = []
        if "mongo" in self.components:
            checks.append(_Check("mongo", f"ping {self.mongo_uri}", self._ping_mongo))
        if "redis" in self.components:
            checks.append(_Check("redis", f"PING {self.redis_url}", self._ping_redis))
        if "quote" in self.components:
            url = f"{self.quote_http_url}/health"
            checks.append(_Check("quote-server", f"GET {url}", _http_probe(url)))
        if "market" in self.components:
            url = f"{self.market_feed_url}/health"
            checks.append(_Check("market-feed", f"GET {url}", _http_probe(url)))
        if "services" in self.components:
            for service in SERVICES:
                names = self._instance_names(service)
                for name, base in zip(names, self.instance_urls(service), strict=True):
                    url = f"{base}/health"
                    checks.append(_Check(name, f"GET {url}", _http_probe(url)))
        if "events" in self.components:
            url = f"{self.events_url}/health"
            checks.append(_Check("events", f"GET {url}", _http_probe(url)))
        if "chain" in self.components:
            for number, base in enumerate(self.chain_urls, start=1):
                url = f"{base}/health"
                checks.append(_Check(f"chain-node-{number}", f"GET {url}", _http_probe(url)))
        if "nginx" in self.components:
            url = f"{self.nginx_url}/health"
            checks.append(_Check("nginx", f"GET {url}", _http_probe(url)))
        return checks

    def _ping_mongo(self) -> None:
        client: pymongo.MongoClient = pymongo.MongoClient(
            self.mongo_uri,
            directConnection=True,
            serverSelectionTimeoutMS=1000,
            connectTimeoutMS=1000,
        )
        try:
            client.admin.command("ping")
        finally:
            client.close()

    def _ping_redis(self) -> None:
        client = redis.Redis.from_url(self.redis_url, socket_timeout=1, socket_connect_timeout=1)
        try:
            if not client.ping():
                raise StackError("PING did not answer PONG")
        finally:
            client.close()

    def wait_healthy(self, timeout: float = 60.0) -> None:
        """Poll every health check until all pass and every program is RUNNING.

        Raises StackError naming the failing program, with the tail of its log, when a
        program gives up (FATAL) or the timeout passes.
        """
        pending = {check.program: check for check in self._checks()}
        errors: dict[str, str] = {}
        deadline = time.monotonic() + timeout
        while True:
            states = {program.name: program for program in self.status()}
            if not states:
                raise StackError(
                    "supervisord stopped while starting:\n"
                    f"{_tail(self.logs_dir / 'supervisord.log')}"
                )
            for program in states.values():
                if program.state == "FATAL":
                    raise self._failure(
                        program.name, "kept exiting; supervisord gave up on it (FATAL)"
                    )
            for name, check in list(pending.items()):
                try:
                    check.probe()
                except Exception as exc:  # any failure just means "not yet"
                    errors[name] = f"{check.what}: {type(exc).__name__}: {exc}"
                else:
                    del pending[name]
            not_running = [p.name for p in states.values() if p.state != "RUNNING"]
            if not pending and not not_running:
                return
            if time.monotonic() > deadline:
                if pending:
                    name = next(iter(pending))
                    reason = errors.get(name, "not checked")
                else:
                    name = not_running[0]
                    reason = f"state {states[name].state}"
                raise self._failure(name, f"not healthy after {timeout:.0f}s: {reason}")
            time.sleep(_POLL_S)

    def _failure(self, program: str, reason: str) -> StackError:
        log_path = self.logs_dir / f"{program}.log"
        tail = _tail(log_path)
        return StackError(f"{program} {reason}\n--- last lines of {log_path} ---\n{tail}")

    # ---------------------------------------------------------------- start/stop

    def start(self, timeout: float = 60.0, *, stop_on_failure: bool = True) -> None:
        """Render configs, start (or reconcile) supervisord and wait until healthy.

        Raises StackError when a port is taken, a binary is missing or a program does
        not get healthy within `timeout` seconds; by default the stack is stopped then.
        """
        already_running = self.is_running()
        if not already_running:
            busy = self._ports_in_use()
            if busy:
                raise StackError(f"ports already in use on 127.0.0.1: {busy}")
        changed = self.render()
        try:
            if already_running:
                log.info("stack in %s is already running; reconciling", self.base_dir)
                self._reconcile(changed)
            else:
                log.info("starting supervisord for %s", self.base_dir)
                self._launch_supervisord()
            self.wait_healthy(timeout)
        except BaseException:
            if stop_on_failure:
                self.stop()
            raise

    def stop(self, timeout: float = 60.0) -> None:
        """Shut supervisord down and wait until it and every program it ran are gone.

        Only processes this stack started are signalled: supervisord from its pidfile,
        and any program it left behind (checked against its recorded start time).
        """
        pid = self.supervisord_pid
        if pid is None:
            return
        started = {p.pid: _proc_start_time(p.pid) for p in self.status() if p.pid}
        try:
            self._rpc().supervisor.shutdown()
        except (OSError, xmlrpc.client.Error) as exc:
            log.warning("supervisord did not take the shutdown request: %s", exc)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        if _wait_gone([pid], timeout):
            log.warning("supervisord %d ignored shutdown; killing it", pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _wait_gone([pid], 5)
        for child, start_time in started.items():
            if start_time is not None and _proc_start_time(child) == start_time:
                log.warning("killing leftover process group %d", child)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child, signal.SIGKILL)
        _wait_gone(started, 5)

    #: What `reset` deletes: the stored data of the database servers and Redis.
    DATA_DIRS = ("mongo", "postgres", "redis")

    def reset(self) -> list[Path]:
        """Stop the stack if it runs and delete its data (every account, login and log
        entry); configs, logs and `.env` stay. Returns the directories deleted."""
        self.stop()
        deleted = []
        for name in self.DATA_DIRS:
            path = self.base_dir / name
            if path.exists():
                shutil.rmtree(path)
                deleted.append(path)
        return deleted

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _http_probe(url: str) -> Callable[[], None]:
    # No proxies: a proxy from the environment must not see loopback health checks.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def probe() -> None:
        with opener.open(url, timeout=2) as response:
            response.read()

    return probe


# ----------------------------------------------------------------------------- CLI


def _caller_settings() -> tuple[dict[str, str], int]:
    """The programs' env for `make up` (`.env` first, the caller's environment wins) and
    the default replica count ($SERVICE_REPLICAS, else 2).

    The one place the launcher reads os.environ (programs inherit the rest anyway).
    """
    env = load_env_file(ENV_FILE)
    for key, value in os.environ.items():
        if not value:
            continue  # set but empty: the default applies
        if key in env or key in PASSTHROUGH_KEYS or key.startswith(PASSTHROUGH_PREFIXES):
            env[key] = value
    return env, int(os.environ.get("SERVICE_REPLICAS") or 2)


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _cmd_up(stack: Stack, args: argparse.Namespace) -> int:
    try:
        stack.start(timeout=args.timeout, stop_on_failure=False)
    except StackError as exc:
        log.error("%s", exc)
        _out(f"Not healthy. Logs: {stack.logs_dir}  (stop with: make down)")
        return 1
    _out(f"Up: {stack.nginx_url}/")
    return 0


def _cmd_down(stack: Stack, args: argparse.Namespace) -> int:
    if stack.supervisord_pid is None:
        _out(f"Stack in {stack.base_dir} is not running.")
        return 0
    stack.stop()
    _out(f"Stopped the stack in {stack.base_dir}.")
    return 0


def _cmd_status(stack: Stack, args: argparse.Namespace) -> int:
    programs = stack.status()
    if not programs:
        _out(f"Stack in {stack.base_dir} is not running.")
        return 0
    width = max(len(p.name) for p in programs)
    for program in programs:
        _out(f"{program.name:<{width}}  {program.state:<9} {program.description}")
    healthy = all(p.state == "RUNNING" for p in programs)
    return 0 if healthy else 1


def _cmd_logs(stack: Stack, args: argparse.Namespace) -> int:
    names = args.programs or None
    if names:
        paths = [stack.logs_dir / f"{name}.log" for name in names]
    else:
        paths = sorted(stack.logs_dir.glob("*.log"))
    paths = [path for path in paths if path.exists()]
    if not paths:
        _out(f"No logs in {stack.logs_dir}.")
        return 1
    tail = ["tail", "-n", str(args.lines), *(["-F"] if args.follow else []), *map(str, paths)]
    with contextlib.suppress(KeyboardInterrupt):
        return subprocess.call(tail)
    return 0


def _cmd_reset(stack: Stack, args: argparse.Namespace) -> int:
    if not args.yes:
        _out(f"This deletes every account, login and log entry of the stack in {stack.base_dir}.")
        sys.stdout.write("Type 'reset' to go on: ")
        sys.stdout.flush()
        if sys.stdin.readline().strip() != "reset":
            _out("Nothing deleted.")
            return 1
    deleted = ", ".join(map(str, stack.reset())) or "nothing (no data yet)"
    _out(f"Deleted {deleted}; `make up` starts afresh.")
    return 0


def main(argv: list[str] | None = None) -> int:
    # The shared options work before or after the command (`--dir var up` or `up --dir
    # var`); SUPPRESS keeps a subcommand from resetting a value given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--dir", type=Path, default=argparse.SUPPRESS, help="stack dir (default: <repo>/var)"
    )
    common.add_argument(
        "--replicas",
        type=int,
        default=argparse.SUPPRESS,
        help="gunicorn instances per service (default: $SERVICE_REPLICAS or 2)",
    )
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS)
    parser = argparse.ArgumentParser(
        prog="python -m tools.stack",
        description="Run the platform locally under supervisord.",
        parents=[common],
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", parents=[common], help="start everything, wait until healthy")
    up.add_argument("--timeout", type=float, default=120.0)
    commands.add_parser("down", parents=[common], help="stop everything this stack started")
    commands.add_parser("status", parents=[common], help="show every program's state")
    logs = commands.add_parser("logs", parents=[common], help="tail the logs")
    logs.add_argument("programs", nargs="*", help="program names (default: all)")
    logs.add_argument("-n", "--lines", type=int, default=50)
    logs.add_argument("-f", "--follow", action="store_true")
    reset = commands.add_parser(
        "reset", parents=[common], help="stop and delete the stack's data (asks first)"
    )
    reset.add_argument("--yes", action="store_true", help="do not ask")
    args = parser.parse_args(argv)
    base_dir = getattr(args, "dir", DEFAULT_DIR)
    verbose = getattr(args, "verbose", False)

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.command == "up" and ensure_env_file(ENV_FILE):
        _out(f"Created {ENV_FILE} with random secrets.")
    cold_key = ensure_cold_wallet(ENV_FILE) if args.command == "up" else None
    if cold_key:
        _out(
            f"Created a cold wallet; its address is WALLET_COLD_ADDRESS in {ENV_FILE}. Its "
            f"private key, shown this once and stored nowhere (keep it offline):\n{cold_key}"
        )
    if args.command == "up" and ensure_pool_keys(ENV_FILE):
        _out(f"Added the pools' keys (POOL_KEYS) to {ENV_FILE}.")
    env, default_replicas = _caller_settings()
    replicas = getattr(args, "replicas", None) or default_replicas
    ports = Ports.local(replicas)
    if env.get("CHAIN_NODE_PORTS"):
        chain_ports = tuple(int(p) for p in env["CHAIN_NODE_PORTS"].split(",") if p.strip())
        ports = dataclasses.replace(ports, chain=chain_ports)
    stack = Stack(base_dir, ports, env, replicas=replicas)
    handlers = {
        "up": _cmd_up,
        "down": _cmd_down,
        "status": _cmd_status,
        "logs": _cmd_logs,
        "reset": _cmd_reset,
    }
    return handlers[args.command](stack, args)


if __name__ == "__main__":
    sys.exit(main())
