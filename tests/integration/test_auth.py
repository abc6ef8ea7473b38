"""Who may do what: tokens, registration and login, acting for others, and the
administrator-only views (the whole DUMPLOG and the log statistics)."""

import time
from pathlib import Path

import jwt
import pytest
from lxml import etree

from services.trigger_checker.service import check_triggers
from tests.conftest import SECRETS
from tests.helpers import random_user

pytestmark = pytest.mark.integration

SCHEMA = Path(__file__).resolve().parents[2] / "schema" / "logfile.xsd"
PASSWORD = "correct horse battery"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def signed(claims: dict, secret: str = SECRETS["JWT_SECRET"]) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


def assert_refused(resp, status: int, code: str) -> str:
    assert resp.status_code == status, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["ok"] is False and body["error"]["code"] == code, body
    return body["error"]["message"]


def register(platform, username: str, password: str = PASSWORD):
    return platform.post("/api/users/register", {"username": username, "password": password})


@pytest.fixture(scope="module")
def member(platform):
    """A registered user with a normal-user token (and $100.00 of their own)."""
    name = random_user()
    assert register(platform, name).status_code == 201
    headers = platform.login(name, PASSWORD)
    as_member = platform.as_caller(headers)
    as_member.ok("ADD", user=name, amount="100.00")
    return name, as_member


@pytest.fixture
def victim(platform):
    name = random_user()
    platform.ok("ADD", user=name, amount="50.00")
    return name


PROTECTED_ROUTES = [
    ("post", "/api/users/add"),
    ("post", "/api/users/display-summary"),
    ("post", "/api/buy/buy"),
    ("post", "/api/sell/commit-sell"),
    ("post", "/api/users/dumplog"),
    ("get", "/api/users/stats"),
    ("get", "/api/users/transactions"),
]


@pytest.mark.parametrize(("method", "path"), PROTECTED_ROUTES)
def test_a_request_without_a_token_answers_401(platform, store, victim, method, path):
    anonymous = platform.as_caller({})
    before = store.account(victim)
    body = {"user": victim, "amount": "10.00"}  # the token is checked before the body
    resp = anonymous.post(path, body) if method == "post" else anonymous.get(path)
    assert "log in" in assert_refused(resp, 401, "unauthorized")
    assert store.account(victim) == before


FOREVER = 4102444800  # 2100-01-01
ADMIN_CLAIMS = {"sub": "admin", "role": "admin", "exp": FOREVER}


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        pytest.param("Bearer", "missing bearer token", id="nothing-after-bearer"),
        pytest.param("Bearer ", "invalid token", id="empty-token"),
        pytest.param("Bearer not-a-token", "invalid token", id="garbage"),
        pytest.param("Basic cmVwbGF5ZXI6eA==", "missing bearer token", id="basic-scheme"),
        pytest.param(
            "Bearer " + signed(ADMIN_CLAIMS, "x" * 32), "invalid token", id="wrong-secret"
        ),
        pytest.param(
            "Bearer " + jwt.encode(ADMIN_CLAIMS, None, algorithm="none"),
            "invalid token",
            id="unsigned-alg-none",
        ),
        pytest.param(
            "Bearer " + signed({"sub": "admin", "exp": FOREVER}), "invalid token", id="no-role"
        ),
        pytest.param(
            "Bearer " + signed({"sub": "admin", "role": "admin"}), "invalid token", id="no-exp"
        ),
        pytest.param(
            "Bearer " + signed({**ADMIN_CLAIMS, "exp": int(time.time()) - 60}),
            "token expired",
            id="expired",
        ),
    ],
)
def test_a_bad_or_expired_token_answers_401_and_changes_nothing(
    platform, store, victim, authorization, message
):
    before = store.account(victim)
    caller = platform.as_caller({"Authorization": authorization})
    resp = caller.post("/api/users/add", {"user": victim, "amount": "10.00"})
    assert message in assert_refused(resp, 401, "unauthorized")
    assert store.account(victim) == before


def test_a_token_that_expired_through_token_ttl_s_is_refused(platform_with, victim):
    short = platform_with(token_ttl_s=1)  # logs in as the replayer: a 1-second token
    assert short.run("DISPLAY_SUMMARY", user=victim).status == 200
    time.sleep(2.05)  # exp has one-second resolution
    resp = short.post("/api/users/display-summary", {"user": victim})
    assert "expired" in assert_refused(resp, 401, "unauthorized")


def test_a_registered_user_logs_in_and_trades_on_their_own_account(platform, store):
    name = random_user()
    created = register(platform, name)
    assert created.status_code == 201
    assert created.get_json() == {"ok": True, "data": {"username": name}}
    assert store.account(name)["cash"] == 0

    login = platform.post("/api/users/login", {"username": name, "password": PASSWORD})
    assert login.status_code == 200
    data = login.get_json()["data"]
    assert (data["username"], data["role"]) == (name, "user")
    assert abs(data["expires_at"] - (time.time() + 3600)) < 60
    claims = jwt.decode(data["token"], SECRETS["JWT_SECRET"], algorithms=["HS256"])
    assert (claims["sub"], claims["role"]) == (name, "user")

    me = platform.as_caller(bearer(data["token"]))
    assert me.ok("ADD", user=name, amount="25.00") == {"cash": "25.00"}
    assert me.ok("BUY", user=name, symbol="AUT", amount="20.00")["shares"] == 2
    assert me.ok("COMMIT_BUY", user=name)["shares"] == 2
    summary = me.summary(name)
    assert (summary["cash"], summary["holdings"]) == ("5.00", {"AUT": 2})
    history = me.get("/api/users/transactions?limit=5")
    assert history.status_code == 200
    assert history.get_json()["data"]["user"] == name


OTHER_USERS_COMMANDS = {
    "ADD": {"amount": "1000.00"},
    "BUY": {"symbol": "ABC", "amount": "10.00"},
    "SET_BUY_AMOUNT": {"symbol": "ABC", "amount": "10.00"},
    "COMMIT_SELL": {},
    "DISPLAY_SUMMARY": {},
}


@pytest.mark.parametrize("command", OTHER_USERS_COMMANDS)
def test_a_user_acting_for_another_user_gets_403_and_nothing_changes(
    member, store, victim, command
):
    fields = OTHER_USERS_COMMANDS[command]
    name, as_member = member
    before = store.account(victim)
    reply = as_member.run(command, user=victim, **fields)
    assert reply.status == 403
    assert reply.error == {"code": "forbidden", "message": f"{name} may not act for {victim}"}
    assert store.account(victim) == before
    assert store.log(reply.txn) == []


@pytest.mark.parametrize(
    ("command", "fields"),
    [("ADD", {"amount": "abc"}), ("BUY", {"symbol": "abcd", "amount": "10.00"})],
    ids=["ADD-bad-amount", "BUY-bad-symbol"],
)
def test_a_user_sending_a_bad_request_for_another_user_writes_nothing_to_their_log(
    member, store, victim, command, fields
):
    _, as_member = member
    before = store.user_log(victim)
    reply = as_member.run(command, user=victim, **fields)
    # Logging the rejected request under the victim's name lets anyone write entries
    # into another user's log (and DUMPLOG); the caller may not act for the victim.
    assert store.user_log(victim) == before
    assert reply.status == 403
    assert store.account(victim)["cash"] == 5000


def test_a_user_cannot_read_another_users_transactions_or_log(member, victim):
    _, as_member = member
    resp = as_member.get(f"/api/users/transactions?user={victim}")
    assert_refused(resp, 403, "forbidden")
    resp = as_member.post("/api/users/dumplog", {"filename": "x.xml", "user": victim})
    assert_refused(resp, 403, "forbidden")


@pytest.mark.parametrize(
    "username",
    # The names themselves in any case (all registered with 201 before), and look-alikes.
    [
        "admin",
        "replayer",
        "Admin",
        "ADMIN",
        "REPLAYER",
        "Replayer",
        "Adm1n",
        "adrnin",
        "ad_min",
        "-ADMlN-",
        "rep1ayer",
        "REPLAY-ER",
    ],
)
def test_registering_a_reserved_name_answers_409(platform, username):
    assert_refused(register(platform, username), 409, "conflict")
    assert (
        platform.post("/api/users/login", {"username": username, "password": PASSWORD}).status_code
        == 401
    )


@pytest.mark.parametrize("username", ["administrator", "admins", "replayers", "badmin"])
def test_names_that_only_contain_a_reserved_one_may_register(platform, username):
    name = f"{username}{random_user()[1:6]}"
    assert register(platform, name).status_code == 201


def test_registering_a_taken_name_answers_409_and_keeps_the_first_password(platform, member):
    name, _ = member
    assert "taken" in assert_refused(register(platform, name, "another password"), 409, "conflict")
    platform.login(name, PASSWORD)
    resp = platform.post("/api/users/login", {"username": name, "password": "another password"})
    assert_refused(resp, 401, "unauthorized")


def test_registering_the_name_of_a_trading_account_answers_409(platform, store, victim):
    before = store.account(victim)
    assert_refused(register(platform, victim), 409, "conflict")
    assert store.account(victim) == before
    resp = platform.post("/api/users/login", {"username": victim, "password": PASSWORD})
    assert_refused(resp, 401, "unauthorized")


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("member", "wrong password"),
        ("nobody", PASSWORD),
        ("admin", "wrong password"),
        ("replayer", SECRETS["ADMIN_PASSWORD"]),
    ],
)
def test_a_wrong_password_or_unknown_name_answers_401(platform, member, username, password):
    username = member[0] if username == "member" else username
    if username == "nobody":
        username = random_user()
    resp = platform.post("/api/users/login", {"username": username, "password": password})
    assert assert_refused(resp, 401, "unauthorized") == "wrong username or password"


def test_the_service_credential_signs_in_only_at_the_service_sign_in(platform):
    credential = {"username": "replayer", "password": SECRETS["SERVICE_PASSWORD"]}
    public = platform.post("/api/users/login", credential)
    assert assert_refused(public, 401, "unauthorized") == "wrong username or password"
    own = platform.post("/api/users/service-login", credential)
    assert own.status_code == 200 and own.get_json()["data"]["role"] == "service"
    for name, password in (("admin", SECRETS["ADMIN_PASSWORD"]), ("replayer", "wrong-pass")):
        refused = platform.post(
            "/api/users/service-login", {"username": name, "password": password}
        )
        assert_refused(refused, 401, "unauthorized")


def test_the_whole_dumplog_is_refused_to_a_normal_user(member, store):
    _, as_member = member
    resp = as_member.post("/api/users/dumplog", {"filename": "all.xml"})
    assert_refused(resp, 403, "forbidden")


def test_log_stats_are_refused_to_a_normal_user(member):
    _, as_member = member
    assert_refused(as_member.get("/api/users/stats"), 403, "forbidden")


def test_log_stats_count_every_entry_type_for_the_admin(admin):
    resp = admin.get("/api/users/stats")
    assert resp.status_code == 200
    counts = resp.get_json()["data"]
    assert set(counts) == {
        "userCommand",
        "quoteServer",
        "accountTransaction",
        "systemEvent",
        "errorEvent",
    }
    assert counts["userCommand"] > 0


def make_varied_log(platform, backend, symbol: str) -> str:
    """Commands that leave every kind of log entry; returns the user."""
    user = random_user()
    platform.ok("ADD", user=user, amount="100.00")
    platform.ok("QUOTE", user=user, symbol=symbol)  # a quote-server hit
    platform.ok("BUY", user=user, symbol=symbol, amount="20.00")
    platform.ok("COMMIT_BUY", user=user)
    assert platform.run("COMMIT_BUY", user=user).status == 409
    assert platform.run("ADD", user=user, amount="12.345").status == 400
    platform.ok("SET_BUY_AMOUNT", user=user, symbol=symbol, amount="25.00")
    platform.ok("SET_BUY_TRIGGER", user=user, symbol=symbol, amount="10.00")
    check_triggers(backend)  # fires: a systemEvent and the leftover's accountTransaction
    assert platform.summary(user)["holdings"] == {symbol: 4}
    return user


def parse_valid_log(resp) -> etree._Element:
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.mimetype == "application/xml"
    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    document = etree.fromstring(resp.get_data())
    schema.assertValid(document)
    return document


def test_the_whole_dumplog_as_admin_is_xml_valid_under_the_schema(
    admin, platform, backend, fresh_symbol
):
    user = make_varied_log(platform, backend, fresh_symbol())
    txn = platform.new_txn()

    resp = admin.post("/api/users/dumplog", {"filename": "all.xml", "transactionNum": txn})

    document = parse_valid_log(resp)
    kinds = {child.tag for child in document}
    assert kinds == {
        "userCommand",
        "quoteServer",
        "accountTransaction",
        "systemEvent",
        "errorEvent",
    }
    users = {child.findtext("username") for child in document}
    assert user in users and len(users) > 2
    last = document[-1]
    assert (last.tag, last.findtext("command"), last.findtext("filename")) == (
        "userCommand",
        "DUMPLOG",
        "all.xml",
    )
    assert last.findtext("transactionNum") == str(txn)
    funds = [e.text for e in document.iter("funds")] + [e.text for e in document.iter("price")]
    assert funds and all("." in f and len(f.split(".")[1]) == 2 for f in funds)


def test_a_user_may_dump_their_own_log_only(member, platform):
    name, as_member = member
    resp = as_member.post("/api/users/dumplog", {"filename": "mine.xml", "user": name})
    document = parse_valid_log(resp)
    assert len(document) > 0
    assert {child.findtext("username") for child in document} == {name}
