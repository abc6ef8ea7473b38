"""Bad requests on the command routes: each is answered 4xx with the error envelope, logged
as the command's errorEvent (under the transaction number it carried, or the one the
server handed out), and changes no account."""

from pathlib import Path

import pytest
from lxml import etree

from services.common.cache import TransactionNumbers
from tests.helpers import random_user

pytestmark = pytest.mark.integration

SCHEMA = Path(__file__).resolve().parents[2] / "schema" / "logfile.xsd"

ROUTE_FIELDS = {
    "ADD": ("user", "amount"),
    "QUOTE": ("user", "symbol"),
    "DISPLAY_SUMMARY": ("user",),
    "BUY": ("user", "symbol", "amount"),
    "COMMIT_BUY": ("user",),
    "SELL": ("user", "symbol", "amount"),
    "COMMIT_SELL": ("user",),
    "SET_BUY_AMOUNT": ("user", "symbol", "amount"),
    "SET_SELL_AMOUNT": ("user", "symbol", "amount"),
    "SET_SELL_TRIGGER": ("user", "symbol", "amount"),
    "CANCEL_SET_SELL": ("user", "symbol"),
}
#: Which routes each group of cases runs on (every route would only repeat itself).
GENERIC_ROUTES = ("ADD", "QUOTE", "DISPLAY_SUMMARY", "BUY", "COMMIT_SELL", "SET_SELL_TRIGGER")
AMOUNT_ROUTES = ("ADD", "BUY", "SELL", "SET_BUY_AMOUNT")
SYMBOL_ROUTES = ("QUOTE", "BUY", "SET_SELL_AMOUNT", "CANCEL_SET_SELL")
GOOD = {"symbol": "BAD", "amount": "10.00"}
MISSING = object()
#: A transactionNum above the schema's limit (2**62), different in every test.
OVER_LIMIT = object()

#: (case id, field it replaces, bad value); MISSING drops the field.
GENERIC_CASES = [
    ("unknown-field-cash", "cash", "5000.00"),
    ("unknown-field-role", "role", "admin"),
    ("user-operator-object", "user", {"$gt": ""}),
    ("user-list", "user", ["bob"]),
    ("user-too-long", "user", "u" * 65),
    ("user-with-space", "user", "bob smith"),
    ("user-missing", "user", MISSING),
    ("txn-bool", "transactionNum", True),
    ("txn-string", "transactionNum", "7"),
    ("txn-negative", "transactionNum", -3),
    ("txn-over-the-schema-limit", "transactionNum", OVER_LIMIT),
]
AMOUNT_CASES = [
    ("amount-negative", "amount", "-5.00"),
    ("amount-zero", "amount", "0"),
    ("amount-zero-cents", "amount", "0.00"),
    ("amount-exponent", "amount", "1e5"),
    ("amount-three-decimals", "amount", "12.345"),
    ("amount-text", "amount", "abc"),
    ("amount-empty", "amount", ""),
    ("amount-int", "amount", 100),
    ("amount-float", "amount", 12.5),
    ("amount-null", "amount", None),
    ("amount-operator-object", "amount", {"$gt": ""}),
    ("amount-over-max", "amount", "1000000000.01"),
    ("amount-missing", "amount", MISSING),
]
SYMBOL_CASES = [
    ("symbol-four-letters", "symbol", "ABCD"),
    ("symbol-lower-case", "symbol", "abc"),
    ("symbol-digit", "symbol", "AB1"),
    ("symbol-trailing-newline", "symbol", "ABC\n"),
    ("symbol-number", "symbol", 123),
    ("symbol-missing", "symbol", MISSING),
]
RAW_CASES = [
    ("malformed-json", '{"user": "bob", "amount": ', "application/json"),
    ("json-array", '[{"user": "bob"}]', "application/json"),
    ("json-string", '"bob"', "application/json"),
    ("json-null", "null", "application/json"),
    ("empty-body", "", "application/json"),
    ("form-encoded", "user=bob&amount=10.00", "application/x-www-form-urlencoded"),
]


def _params():
    params = []
    for command in ROUTE_FIELDS:
        cases = list(GENERIC_CASES) if command in GENERIC_ROUTES else []
        cases += AMOUNT_CASES if command in AMOUNT_ROUTES else []
        cases += SYMBOL_CASES if command in SYMBOL_ROUTES else []
        for case_id, field, value in cases:
            params.append(pytest.param(command, field, value, id=f"{command}-{case_id}"))
    return params


@pytest.fixture(scope="module")
def user(platform):
    """A user with cash and shares of the symbol the bad requests name.

    Shared by the module: every test checks that its request left the account as it was.
    """
    name = random_user()
    platform.ok("ADD", user=name, amount="100.00")
    platform.ok("BUY", user=name, symbol=GOOD["symbol"], amount="20.00")
    platform.ok("COMMIT_BUY", user=name)
    return name


def last_server_txn(rds) -> int:
    """The transaction number the server handed out last (the tests run one at a time)."""
    return TransactionNumbers.FIRST + int(rds.get(TransactionNumbers.KEY))


def assert_error_envelope(resp, status: int, code: str | None = None) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.is_json
    body = resp.get_json()
    assert body["ok"] is False and set(body) == {"ok", "error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body["error"]


def assert_logged_failure(store, txn: int, command: str, message: str, user: str | None):
    entries = store.log(txn)
    assert [e["type"] for e in entries] == ["userCommand", "errorEvent"], entries
    for entry in entries:
        assert entry["command"] == command
        assert entry.get("user") == user
    assert entries[1]["message"] == message


@pytest.mark.parametrize(("command", "field", "value"), _params())
def test_a_bad_field_is_rejected_logged_and_changes_nothing(
    platform, store, rds, user, command, field, value
):
    body = {name: (user if name == "user" else GOOD[name]) for name in ROUTE_FIELDS[command]}
    body["transactionNum"] = platform.new_txn()
    if value is MISSING:
        del body[field]
    elif value is OVER_LIMIT:
        body[field] = 2**62 + body[field]
    else:
        body[field] = value
    before = store.account(user)
    server_txn_before = rds.get(TransactionNumbers.KEY)

    resp = platform.send(command, body)

    error = assert_error_envelope(resp, 400, "invalid_input")
    given = body.get("transactionNum")
    if type(given) is int and given > 0:  # out of range, but still the command's number
        txn = given
    else:
        assert rds.get(TransactionNumbers.KEY) != server_txn_before, "no number handed out"
        txn = last_server_txn(rds)
    logged_user = body["user"] if body.get("user") == user else None
    assert_logged_failure(store, txn, command, error["message"], logged_user)
    # The entries keep the arguments that were valid on their own, and only those.
    for entry in store.log(txn):
        assert entry.get("symbol") == (GOOD["symbol"] if body.get("symbol") == "BAD" else None)
        assert entry.get("funds") == (1000 if body.get("amount") == "10.00" else None)
    assert store.account(user) == before


@pytest.mark.parametrize(
    ("command", "case", "data", "content_type"),
    [
        pytest.param(command, *case, id=f"{command}-{case[0]}")
        for command in ("ADD", "BUY", "COMMIT_SELL")
        for case in RAW_CASES
    ],
)
def test_a_body_that_is_not_a_json_object_is_rejected_and_logged(
    platform, store, rds, user, command, case, data, content_type
):
    before = store.account(user)

    resp = platform.send(command, data=data, content_type=content_type)

    error = assert_error_envelope(resp, 400, "invalid_input")
    assert "JSON object" in error["message"]
    assert_logged_failure(store, last_server_txn(rds), command, error["message"], None)
    assert store.account(user) == before


def test_a_deeply_nested_json_body_is_rejected_as_bad_input(platform, store, rds, user):
    nested = "[" * 5000 + "]" * 5000  # 10 KB: under max_body_bytes
    before = store.account(user)
    server_txn_before = rds.get(TransactionNumbers.KEY)

    resp = platform.send("ADD", data=nested, content_type="application/json")

    assert_error_envelope(resp, 400, "invalid_input")
    assert rds.get(TransactionNumbers.KEY) != server_txn_before, "no errorEvent was logged"
    assert store.types(last_server_txn(rds)) == ["userCommand", "errorEvent"]
    assert store.account(user) == before


@pytest.mark.parametrize(
    "command", ["QUOTE", "DISPLAY_SUMMARY", "BUY", "COMMIT_BUY", "SELL", "CANCEL_SET_SELL"]
)
def test_a_command_for_an_unknown_user_answers_404_and_creates_no_account(platform, store, command):
    ghost = random_user()
    fields = {name: GOOD[name] for name in ROUTE_FIELDS[command] if name != "user"}

    reply = platform.run(command, user=ghost, **fields)

    assert reply.status == 404
    assert reply.error == {"code": "not_found", "message": f"account {ghost} does not exist"}
    assert_logged_failure(store, reply.txn, command, reply.error["message"], ghost)
    assert store.account(ghost) is None


def test_an_oversized_body_answers_413_and_is_logged_as_the_commands_error(
    platform, store, user, overrides
):
    limit = 16 * 1024  # Settings.max_body_bytes (the session does not override it)
    assert "max_body_bytes" not in overrides
    body = {"user": user, "amount": "10.00", "transactionNum": platform.new_txn()}
    body["padding"] = "x" * limit
    before = store.account(user)
    errors = {"type": "errorEvent", "command": "ADD"}
    logged_before = store.db["transactions"].count_documents(errors)

    resp = platform.post("/api/users/add", body)

    assert_error_envelope(resp, 413, "too_large")
    assert store.account(user) == before
    # Every failed command leaves an errorEvent (dts-commands.md, "The log"); the route
    # names the command even when the body is too large to read.
    assert store.db["transactions"].count_documents(errors) == logged_before + 1


@pytest.mark.parametrize("command", ["ADD", "DUMPLOG"])
def test_a_transaction_number_too_large_for_the_database_is_rejected_as_bad_input(
    platform, store, user, command
):
    body = {"user": user, "amount": "10.00", "transactionNum": 2**64}
    if command == "DUMPLOG":
        body = {"filename": "log.xml", "user": user, "transactionNum": 2**64}
    before = store.account(user)
    errors = {"type": "errorEvent", "command": command, "user": user}
    logged_before = store.db["transactions"].count_documents(errors)
    path = "/api/users/dumplog" if command == "DUMPLOG" else "/api/users/add"

    resp = platform.post(path, body)

    error = assert_error_envelope(resp, 400, "invalid_input")
    assert "transactionNum" in error["message"]
    assert store.db["transactions"].count_documents(errors) == logged_before + 1
    assert store.account(user) == before


def test_a_smaller_max_body_bytes_setting_is_enforced(platform_with, store, user):
    small = platform_with(max_body_bytes=64)
    before = store.account(user)
    reply = small.post("/api/users/add", {"user": user, "amount": "10.00", "pad": "y" * 64})
    assert_error_envelope(reply, 413, "too_large")
    assert store.account(user) == before


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "filename"),
        ({"filename": "a<b.xml"}, "filename"),
        ({"filename": "log.xml", "extra": 1}, "extra"),
        ({"filename": "log.xml", "user": {"$gt": ""}}, "user"),
    ],
    ids=["filename-missing", "filename-markup", "unknown-field", "user-operator-object"],
)
def test_a_bad_dumplog_request_is_rejected_and_logged(platform, store, body, fragment):
    body = {**body, "transactionNum": platform.new_txn()}
    resp = platform.post("/api/users/dumplog", body)
    error = assert_error_envelope(resp, 400, "invalid_input")
    assert fragment in error["message"]
    assert_logged_failure(store, body["transactionNum"], "DUMPLOG", error["message"], None)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/users/register", {"username": "ok_name", "password": "short"}),
        ("/api/users/register", {"username": "bad name", "password": "long-enough"}),
        ("/api/users/register", {"username": "x", "password": "long-enough", "role": "admin"}),
        ("/api/users/login", {"username": {"$gt": ""}, "password": "long-enough"}),
        ("/api/users/login", ["admin", "password"]),
    ],
    ids=["short-password", "bad-username", "role-field", "operator-username", "array"],
)
def test_bad_register_and_login_bodies_are_rejected_with_the_envelope(platform, path, body):
    assert_error_envelope(platform.post(path, body), 400, "invalid_input")


@pytest.mark.parametrize("limit", ["abc", "0", "501", "-1"])
def test_a_bad_transactions_limit_is_rejected(platform, user, limit):
    resp = platform.get(f"/api/users/transactions?user={user}&limit={limit}")
    assert_error_envelope(resp, 400, "invalid_input")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/api/nothing/here", 404),
        ("post", "/api/buy/no-such-command", 404),
        ("post", "/api/users/", 404),
        ("get", "/api/buy/buy", 405),
    ],
)
def test_an_unknown_route_or_method_answers_with_the_json_envelope(platform, method, path, status):
    resp = getattr(platform, method)(path)
    assert_error_envelope(resp, status)


@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ("/api/users/add", {"amount": "1.00", "\x01": 1}),
        ("/api/users/add", {"amount": "1.00", "\uffff": 1}),
        ("/api/users/dumplog", {"filename": "\ufffe.xml"}),
    ],
    ids=[
        "field-name-control-char",
        "field-name-U+FFFF",
        "dumplog-filename-U+FFFE",
    ],
)
def test_no_request_can_make_the_users_dumplog_invalid_xml(platform, path, extra):
    name = random_user()
    platform.ok("ADD", user=name, amount="10.00")
    platform.post(path, {"user": name, **extra})  # rejected or accepted, either is fine

    dump = platform.post("/api/users/dumplog", {"filename": "check.xml", "user": name})

    assert dump.status_code == 200
    # Characters XML 1.0 does not allow must not reach the log as they came: the
    # DUMPLOG is parsed as XML (and validated against the course schema) by the grader.
    document = etree.fromstring(dump.get_data())
    etree.XMLSchema(etree.parse(str(SCHEMA))).assertValid(document)
