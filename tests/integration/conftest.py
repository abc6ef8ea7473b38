"""Fixtures for the integration tier: the three services as in-process Flask test clients
against the session's real infrastructure (FerretDB, redis-server, the fixed-price quote
server), plus direct handles on the database and Redis for checking what was stored."""

from __future__ import annotations

import random
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pymongo
import pytest
import redis
import requests

from input_script import COMMANDS
from services import buy, exchange, sell, user_utilities
from services.common.backend import Backend
from services.common.config import load_settings
from services.common.journal import Journal
from services.persister.service import Persister
from tests.conftest import SECRETS
from tests.helpers import random_symbol

FACTORIES = {
    "buy": buy.create_app,
    "sell": sell.create_app,
    "users": user_utilities.create_app,
    "exchange": exchange.create_app,
}

#: Trading command -> its route (the replayer's table is the one source).
ROUTES = {command: path for command, (path, _) in COMMANDS.items() if command != "DUMPLOG"}
PREFIXES = {
    "/api/buy/": "buy",
    "/api/sell/": "sell",
    "/api/users/": "users",
    "/api/exchange/": "exchange",
}


def new_txn() -> int:
    """A transaction number no other test (nor the server's own counter) hands out."""
    return random.randrange(10**12, 2**53)


@dataclass
class Reply:
    """A command's answer and the transaction number it was sent with."""

    status: int
    body: dict
    txn: int

    @property
    def data(self) -> dict:
        assert self.status == 200 and self.body["ok"] is True, self.body
        return self.body["data"]

    @property
    def error(self) -> dict:
        assert self.body["ok"] is False and set(self.body) == {"ok", "error"}, self.body
        assert set(self.body["error"]) == {"code", "message"}, self.body
        return self.body["error"]


class Platform:
    """The buy, sell and user-utilities services, called with one caller's token."""

    def __init__(self, apps: dict, headers: dict | None = None):
        self.apps = apps
        self.headers = headers or {}

    new_txn = staticmethod(new_txn)

    def as_caller(self, headers: dict) -> Platform:
        return Platform(self.apps, headers)

    def client(self, path: str):
        service = next((s for p, s in PREFIXES.items() if path.startswith(p)), "users")
        return self.apps[service].test_client()

    def post(self, path: str, body=None, headers: dict | None = None, **kwargs):
        """POST ``body`` as JSON (or raw ``data=``) to whichever service owns ``path``."""
        if body is not None:
            kwargs["json"] = body
        return self.client(path).post(path, headers=self.headers | (headers or {}), **kwargs)

    def get(self, path: str, headers: dict | None = None, **kwargs):
        return self.client(path).get(path, headers=self.headers | (headers or {}), **kwargs)

    def send(self, command: str, body=None, **kwargs):
        """POST ``body`` exactly as given (or raw ``data=``) to ``command``'s route."""
        return self.post(ROUTES[command], body, **kwargs)

    def run(self, command: str, txn: int | None = None, **fields) -> Reply:
        """Send a trading command with a fresh transaction number (unless ``txn=``)."""
        txn = txn or new_txn()
        resp = self.post(ROUTES[command], {**fields, "transactionNum": txn})
        return Reply(resp.status_code, resp.get_json(), txn)

    def ok(self, command: str, **fields) -> dict:
        return self.run(command, **fields).data

    def login(self, username: str, password: str) -> dict:
        path = "/api/users/service-login" if username == "replayer" else "/api/users/login"
        resp = self.post(path, {"username": username, "password": password})
        assert resp.status_code == 200, resp.get_json()
        return {"Authorization": f"Bearer {resp.get_json()['data']['token']}"}

    def summary(self, user: str) -> dict:
        return self.ok("DISPLAY_SUMMARY", user=user)


# With LEDGER_STORE=journal the services journal commands and a persister writes them to
# the database: one persister thread per database, as the launcher runs one per stack.
_PERSISTERS: dict[str, threading.Event] = {}


def _start_persister(settings: dict) -> None:
    loaded = load_settings(settings)
    if loaded.ledger_store != "journal" or loaded.mongo_db in _PERSISTERS:
        return
    client = redis.Redis.from_url(loaded.redis_url, socket_timeout=5)
    db = pymongo.MongoClient(loaded.mongo_uri)[loaded.mongo_db]
    stop = _PERSISTERS[loaded.mongo_db] = threading.Event()
    threading.Thread(
        target=Persister(client, db, loaded.mongo_db).run, args=(stop,), daemon=True
    ).start()


@pytest.fixture(scope="session", autouse=True)
def _stop_persisters(infra) -> Iterator[None]:
    yield
    for stop in _PERSISTERS.values():
        stop.set()


def _build_apps(settings: dict) -> dict:
    _start_persister(settings)
    return {name: factory(settings) for name, factory in FACTORIES.items()}


def _close(apps: dict) -> None:
    for app in apps.values():
        app.extensions["backend"].close()


@pytest.fixture(scope="module")
def settings(overrides, request) -> dict:
    """The session's settings with a database of the test module's own.

    FerretDB's SQLite backend answers every log query with a scan of the whole
    collection, so each module keeping a small log of its own keeps the tier fast.
    """
    module = request.module.__name__.rpartition(".")[2].removeprefix("test_")
    settings = {**overrides, "mongo_db": f"{overrides['mongo_db']}_{module}"[:63]}
    settings |= getattr(request.module, "STORE_SETTINGS", {})  # a module pins its store
    _start_persister(settings)
    return settings


@pytest.fixture(scope="module")
def platform(settings) -> Iterator[Platform]:
    """The services with the module's settings, acting as the replayer (any user)."""
    apps = _build_apps(settings)
    anonymous = Platform(apps)
    yield anonymous.as_caller(anonymous.login("replayer", SECRETS["SERVICE_PASSWORD"]))
    _close(apps)


@pytest.fixture
def platform_with(settings) -> Iterator:
    """Factory: the services with some settings changed, acting as the replayer."""
    built = []

    def build(**changed) -> Platform:
        apps = _build_apps({**settings, **changed})
        built.append(apps)
        anonymous = Platform(apps)
        return anonymous.as_caller(anonymous.login("replayer", SECRETS["SERVICE_PASSWORD"]))

    yield build
    for apps in built:
        _close(apps)


@pytest.fixture(scope="module")
def admin(platform) -> Platform:
    return platform.as_caller(platform.login("admin", SECRETS["ADMIN_PASSWORD"]))


@pytest.fixture(scope="session")
def mongo(infra) -> Iterator[pymongo.MongoClient]:
    client = pymongo.MongoClient(infra.mongo_uri, serverSelectionTimeoutMS=5000)
    yield client
    client.close()


class CaughtUpDatabase:
    """The module's database, each collection handed out once the journal's persister
    has written what was journaled before (LEDGER_STORE=journal), as readers do."""

    def __init__(self, database, journal: Journal):
        self._database = database
        self._journal = journal

    def __getitem__(self, name: str):
        self._journal.wait_caught_up()
        return self._database[name]

    def __getattr__(self, name: str):
        return getattr(self._database, name)


@pytest.fixture(scope="module")
def db(mongo, settings, rds):
    database = mongo[settings["mongo_db"]]
    if load_settings(settings).ledger_store == "journal":
        return CaughtUpDatabase(database, Journal(rds, settings["mongo_db"]))
    return database


@pytest.fixture(scope="session")
def rds(infra) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(infra.redis_url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def backend(settings) -> Iterator[Backend]:
    """The adapters as the trigger checker builds them, on the module's database."""
    b = Backend(load_settings(settings))
    yield b
    b.close()


@pytest.fixture
def quote_stats(infra):
    """Function returning the quote server's request count per symbol."""

    def by_symbol() -> dict:
        return requests.get(f"{infra.quote_http_url}/stats", timeout=5).json()["by_symbol"]

    return by_symbol


@pytest.fixture
def fresh_symbol(rds, quote_stats):
    """Factory: a symbol with no cached quote that the quote server has not served."""

    def pick() -> str:
        served = quote_stats()
        while True:
            symbol = random_symbol()
            if symbol not in served and not rds.exists(f"quote:{symbol}"):
                return symbol

    return pick


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Store:
    """Read-only views of what the services stored: accounts and the audit log.

    With LEDGER_STORE=journal, every read first waits until the persister has written
    what was journaled before it, as the services' own readers do.
    """

    def __init__(self, db, journal: Journal | None = None):
        self._db = db
        self._journal = journal

    @property
    def db(self):
        if self._journal is not None:
            self._journal.wait_caught_up()
        return self._db

    def log(self, txn: int) -> list[dict]:
        """The log entries with transaction number ``txn``, oldest first."""
        cursor = self.db["transactions"].find({"txn": txn}, {"_id": 0})
        return list(cursor.sort([("ts", 1), ("_id", 1)]))

    def types(self, txn: int) -> list[str]:
        return [entry["type"] for entry in self.log(txn)]

    def user_log(self, user: str, kind: str | None = None) -> list[dict]:
        query = {"user": user} | ({"type": kind} if kind else {})
        cursor = self.db["transactions"].find(query, {"_id": 0})
        return list(cursor.sort([("ts", 1), ("_id", 1)]))

    def cash_by_the_log(self, user: str) -> int:
        """sum(add) - sum(remove) over the user's accountTransactions, in cents."""
        total = 0
        for entry in self.user_log(user, "accountTransaction"):
            assert entry["action"] in ("add", "remove"), entry
            total += entry["funds"] if entry["action"] == "add" else -entry["funds"]
        return total

    def account(self, user: str) -> dict | None:
        return self.db["users"].find_one({"_id": user})


@pytest.fixture(scope="module")
def store(db, rds, settings) -> Store:
    journaled = load_settings(settings).ledger_store == "journal"
    return Store(db, Journal(rds, settings["mongo_db"]) if journaled else None)
