"""The wallet service through its routes, on the session's FerretDB and Redis.

What needs no chain-node: deposit addresses, balances, crediting a recorded deposit
exactly once (also after a crash half-way), withdrawals' validation, locking,
idempotency, cancel and approval, and another user's data out of reach. The chain
itself is in test_wallet_chain.py.
"""

from __future__ import annotations

import pytest

from services import wallet as wallet_service
from services.common.chain import keys
from services.common.domain import assets, custody
from services.common.wallet_keys import KeyVault
from services.wallet import service
from tests.conftest import SECRETS
from tests.helpers import random_user

COIN = 100_000_000
# Some tests here simulate a crash between two writes of the database store
# (LEDGER_STORE=database); with the journal they are one Redis script
# (tests/integration/test_journal.py).
STORE_SETTINGS = {"ledger_store": "database"}
FEE = 10_000  # WALLET_TX_FEE 0.0001


@pytest.fixture(scope="module")
def app(settings, closed_port):
    app = wallet_service.create_app(
        {
            **settings,
            "wallet_encryption_key": KeyVault.new_encryption_key(),
            # No node: nothing here may need one (a call would fail at once).
            "wallet_chain_node_url": f"http://127.0.0.1:{closed_port}",
            "wallet_withdraw_approval": "10",
            "wallet_max_open_withdrawals": "3",
        }
    )
    yield app
    app.extensions["backend"].close()


@pytest.fixture(scope="module")
def closed_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def wallet(app) -> service.Wallet:
    return app.extensions["wallet"]


class Caller:
    def __init__(self, client, headers):
        self.client, self.headers = client, headers

    def get(self, path, **kwargs):
        return self.client.get(f"/api/wallet{path}", headers=self.headers, **kwargs)

    def post(self, path, body=None, key=None):
        headers = self.headers | ({"Idempotency-Key": key} if key else {})
        return self.client.post(f"/api/wallet{path}", json=body, headers=headers)


def _login(app, users_app, name, password) -> dict:
    resp = users_app.test_client().post(
        "/api/users/login", json={"username": name, "password": password}
    )
    assert resp.status_code == 200, resp.get_json()
    return {"Authorization": f"Bearer {resp.get_json()['data']['token']}"}


@pytest.fixture(scope="module")
def users_app(settings):
    from services import user_utilities

    app = user_utilities.create_app(settings)
    yield app
    app.extensions["backend"].close()


@pytest.fixture
def new_user(app, users_app):
    """Factory: a registered user and a Caller acting as them."""

    def make() -> tuple[str, Caller]:
        name = random_user()
        resp = users_app.test_client().post(
            "/api/users/register", json={"username": name, "password": "password-123"}
        )
        assert resp.status_code in (200, 201), resp.get_json()
        return name, Caller(app.test_client(), _login(app, users_app, name, "password-123"))

    return make


@pytest.fixture(scope="module")
def admin(app, users_app) -> Caller:
    return Caller(app.test_client(), _login(app, users_app, "admin", SECRETS["ADMIN_PASSWORD"]))


def _data(resp, status=200):
    body = resp.get_json()
    assert resp.status_code == status, body
    assert body["ok"] is True
    return body["data"]


def _error(resp, status):
    body = resp.get_json()
    assert resp.status_code == status, body
    assert body["ok"] is False and set(body["error"]) == {"code", "message"}
    return body["error"]


def _record_deposit(wallet, user, address, units, height=5, asset="DTC") -> dict:
    txid = keys.generate_key().private_key  # any 64 hex digits
    deposit = {
        "id": custody.deposit_id(txid, address, asset),
        "user": user,
        "txid": txid,
        "address": address,
        "sender": "e" * 40,
        "asset": asset,
        "units": units,
        "height": height,
        "block_hash": "b" * 64,
        "state": custody.SUBMITTED,
        "seen_ms": 1,
        "updated_ms": 1,
    }
    assert wallet.deposits.record_many([deposit]) == [deposit]
    return wallet.deposits.get(deposit["id"])


def _fund(wallet, user, units) -> None:
    """Credit ``units`` DTC to ``user`` as a confirmed deposit would."""
    address = wallet.addresses.get_or_create(user, wallet.vault)
    deposit = _record_deposit(wallet, user, address, units)
    assert service.credit_deposit(wallet, deposit) == "accepted"


def test_a_user_gets_one_deposit_address_and_its_key_stays_sealed(new_user, wallet, db):
    user, caller = new_user()
    first = _data(caller.get("/deposit-address"))
    again = _data(caller.get("/deposit-address"))
    assert first == again and keys.ADDRESS.fullmatch(first["address"])
    stored = db["wallet_addresses"].find_one({"_id": user})
    assert stored["address"] == first["address"]
    # Sealed at rest: the stored text is not the key, yet it opens to the key of the address.
    private = wallet.vault.open(stored["key"]).reveal()
    assert private not in stored["key"]
    assert keys.key_from_private(private).address == first["address"]
    assert "key" not in str(first)


def test_balances_start_at_zero_for_both_chain_assets(new_user):
    _, caller = new_user()
    data = _data(caller.get("/balances"))
    assert data["balances"] == [
        {"asset": "DTC", "available": "0.00000000", "locked": "0.00000000", "total": "0.00000000"},
        {"asset": "DUSD", "available": "0.00000000", "locked": "0.00000000", "total": "0.00000000"},
    ]


def test_a_deposit_is_credited_once_however_often_it_is_credited(new_user, wallet):
    user, caller = new_user()
    address = _data(caller.get("/deposit-address"))["address"]
    deposit = _record_deposit(wallet, user, address, 150_000_000)
    assert service.credit_deposit(wallet, deposit) == "accepted"
    assert service.credit_deposit(wallet, deposit) == "accepted"
    # Seen again in a replayed block: the same deposit, not a new one.
    assert wallet.deposits.record_many([{**deposit, "state": "submitted"}]) == []
    # 1.5 DTC less the two network fees of its sweep (2 x 0.0001).
    balance = _data(caller.get("/balances"))["balances"][0]
    assert balance["available"] == "1.49980000"
    listed = _data(caller.get("/deposits"))["deposits"]
    assert [(d["amount"], d["fee"], d["state"]) for d in listed] == [
        ("1.50000000", "0.00020000", "accepted")
    ]


def test_a_crash_between_the_credit_and_the_state_change_does_not_credit_twice(new_user, wallet):
    user, caller = new_user()
    address = _data(caller.get("/deposit-address"))["address"]
    deposit = _record_deposit(wallet, user, address, 2 * COIN)
    # As credit_deposits does: the deposit is marked, the credit is made and stored, and
    # then the process dies before the deposit moves.
    wallet.deposits.mark_crediting([deposit["id"]])
    rule_ran = service._apply_once(
        wallet,
        user,
        "DEPOSIT",
        deposit["id"],
        assets.DEPOSIT,
        lambda a: service.wallet_rules.credit_deposit(a, "DTC", 2 * COIN, deposit["id"]),
    )
    assert rule_ran
    assert wallet.deposits.get(deposit["id"])["state"] == "submitted"
    # The analyser, restarted, finds it still submitted and credits "again".
    assert service.credit_deposit(wallet, wallet.deposits.get(deposit["id"])) == "accepted"
    balance = _data(caller.get("/balances"))["balances"][0]
    assert balance["available"] == "2.00000000"  # once, and no fee: the first attempt's rule


def test_a_crash_after_the_account_write_before_the_ledger_insert_is_repaired(new_user, wallet, db):
    user, caller = new_user()
    address = _data(caller.get("/deposit-address"))["address"]
    deposit = _record_deposit(wallet, user, address, COIN)
    service.credit_deposit(wallet, deposit)
    # As if the process died after storing the account (its outbox) but before the
    # wallet-ledger insert: the entries are not in the collection, and no mark says so.
    db["wallet_ledger"].delete_many({"user": user})
    wallet.redis.delete(f"outbox-logged:{user}", f"account:{db.name}:{user}")
    assert not wallet.entry_lookup.exists(user, deposit["id"], assets.DEPOSIT)
    wallet.deposits.move(deposit["id"], "accepted", "collecting", 2)  # (any later state)
    db["wallet_deposits"].update_one({"_id": deposit["id"]}, {"$set": {"state": "submitted"}})
    assert service.credit_deposit(wallet, wallet.deposits.get(deposit["id"])) == "accepted"
    assert _data(caller.get("/balances"))["balances"][0]["available"] == "0.99980000"
    reasons = sorted(e["reason"] for e in _data(caller.get("/history"))["entries"])
    assert reasons == ["deposit", "deposit_fee"]


def test_withdrawal_input_is_checked_and_refusals_change_nothing(new_user, wallet):
    user, caller = new_user()
    _fund(wallet, user, COIN)
    good = {"asset": "DTC", "address": "a" * 40, "amount": "0.5"}
    cases = [
        ({**good, "asset": "BTC"}, 400),
        ({**good, "asset": None}, 400),
        ({**good, "address": "A" * 40}, 400),
        ({**good, "address": "a" * 39}, 400),
        ({**good, "address": 42}, 400),
        ({**good, "amount": "0"}, 400),
        ({**good, "amount": "-1"}, 400),
        ({**good, "amount": 0.5}, 400),
        ({**good, "amount": "0.000000001"}, 400),
        ({**good, "amount": "1e3"}, 400),
        ({**good, "extra": 1}, 400),
        ({**good, "address": wallet.hot.address}, 400),
        ({**good, "amount": "0.99980000"}, 409),  # + the 0.0001 fee is more than held
    ]
    for body, status in cases:
        _error(caller.post("/withdrawals", body), status)
    _error(caller.post("/withdrawals", ["not", "an", "object"]), 400)
    assert _data(caller.get("/balances"))["balances"][0]["available"] == "0.99980000"
    assert _data(caller.get("/withdrawals"))["withdrawals"] == []


def test_a_withdrawal_locks_its_funds_once_per_idempotency_key(new_user, wallet):
    user, caller = new_user()
    _fund(wallet, user, COIN)
    body = {"asset": "DTC", "address": "a" * 40, "amount": "0.5"}
    first = _data(caller.post("/withdrawals", body, key="wd-1"), 201)
    again = _data(caller.post("/withdrawals", body, key="wd-1"), 201)
    assert first["id"] == again["id"]
    assert first["state"] == "accepted" and first["fee"] == "0.00010000"
    _error(caller.post("/withdrawals", {**body, "amount": "0.4"}, key="wd-1"), 422)
    balance = _data(caller.get("/balances"))["balances"][0]
    assert (balance["available"], balance["locked"]) == ("0.49970000", "0.50010000")
    shown = _data(caller.get(f"/withdrawals/{first['id']}"))
    assert shown["state"] == "accepted" and shown["amount"] == "0.50000000"


def test_cancel_before_sending_unlocks_and_cannot_happen_twice(new_user, wallet):
    user, caller = new_user()
    _fund(wallet, user, COIN)
    body = {"asset": "DTC", "address": "a" * 40, "amount": "0.25"}
    created = _data(caller.post("/withdrawals", body), 201)
    canceled = _data(caller.post(f"/withdrawals/{created['id']}/cancel"))
    assert canceled["state"] == "canceled"
    _error(caller.post(f"/withdrawals/{created['id']}/cancel"), 409)
    balance = _data(caller.get("/balances"))["balances"][0]
    assert (balance["available"], balance["locked"]) == ("0.99980000", "0.00000000")


def test_a_withdrawal_above_the_limit_waits_for_an_admin(new_user, wallet, admin):
    user, caller = new_user()
    _fund(wallet, user, 30 * COIN)
    big = _data(
        caller.post("/withdrawals", {"asset": "DTC", "address": "c" * 40, "amount": "11"}), 201
    )
    assert big["needs_approval"] and big["state"] == "accepted"
    _error(caller.post(f"/withdrawals/{big['id']}/approve"), 403)  # not an admin
    waiting = _data(admin.get("/admin/withdrawals?state=accepted"))["withdrawals"]
    assert big["id"] in [w["id"] for w in waiting]
    rejected = _data(admin.post(f"/withdrawals/{big['id']}/reject"))
    assert rejected["state"] == "rejected"
    _error(admin.post(f"/withdrawals/{big['id']}/approve"), 409)
    small = _data(
        caller.post("/withdrawals", {"asset": "DTC", "address": "c" * 40, "amount": "10"}), 201
    )
    assert not small["needs_approval"]
    _error(admin.post(f"/withdrawals/{small['id']}/approve"), 409)  # nothing to approve
    big2 = _data(
        caller.post("/withdrawals", {"asset": "DTC", "address": "c" * 40, "amount": "12"}), 201
    )
    approved = _data(admin.post(f"/withdrawals/{big2['id']}/approve"))
    assert approved["approved_by"] == "admin" and approved["state"] == "accepted"
    # Rejected funds came back; the two others stay locked until sent.
    balance = _data(caller.get("/balances"))["balances"][0]
    assert balance["locked"] == "22.00020000"


def test_open_withdrawals_are_bounded_per_user(new_user, wallet):
    user, caller = new_user()
    _fund(wallet, user, COIN)
    body = {"asset": "DTC", "address": "a" * 40, "amount": "0.01"}
    for _ in range(3):
        _data(caller.post("/withdrawals", body), 201)
    _error(caller.post("/withdrawals", body), 409)


def test_another_users_wallet_is_out_of_reach(new_user, wallet, admin):
    owner, owner_caller = new_user()
    _, other = new_user()
    _fund(wallet, owner, COIN)
    created = _data(
        owner_caller.post("/withdrawals", {"asset": "DTC", "address": "a" * 40, "amount": "0.1"}),
        201,
    )
    for path in (
        f"/balances?user={owner}",
        f"/deposits?user={owner}",
        f"/withdrawals?user={owner}",
        f"/history?user={owner}",
        f"/withdrawals/{created['id']}",
    ):
        _error(other.get(path), 403)
    _error(other.post(f"/withdrawals/{created['id']}/cancel"), 403)
    for path in ("/reserves", "/gas-keeper", "/jobs", "/alerts", "/admin/addresses"):
        _error(other.get(path), 403)
    _error(other.get("/withdrawals/does-not-exist"), 404)
    # An admin may look.
    assert _data(admin.get(f"/balances?user={owner}"))["user"] == owner
    assert _data(owner_caller.get(f"/withdrawals/{created['id']}"))["state"] == "accepted"


def test_without_a_token_every_route_is_401(app):
    client = app.test_client()
    for path in ("/balances", "/deposit-address", "/deposits", "/withdrawals", "/reserves"):
        _error(client.get(f"/api/wallet{path}"), 401)
