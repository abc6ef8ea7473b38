"""GET /api/users/account: the UI's plain read of its account (issue 18, item 6).

DISPLAY_SUMMARY is a logged command: each call takes the user's lock and appends a
userCommand. The read answers the same view and leaves the log as it was.
"""

from __future__ import annotations

import pytest

from tests.helpers import random_user

pytestmark = pytest.mark.integration
PASSWORD = "a-password-1"


@pytest.fixture(scope="module")
def alice(platform):
    """A registered user with her own token, $25.00 and a pending buy of 2 shares."""
    name = random_user()
    body = {"username": name, "password": PASSWORD}
    assert platform.post("/api/users/register", body).status_code == 201
    as_alice = platform.as_caller(platform.login(name, PASSWORD))
    as_alice.ok("ADD", user=name, amount="25.00")
    as_alice.ok("BUY", user=name, symbol="ABC", amount="20.00")  # 2 shares at $10.00
    return name, as_alice


def test_the_account_read_shows_the_summary_and_logs_nothing(alice, store):
    name, as_alice = alice
    logged = store.user_log(name)
    version = store.account(name)["v"]

    resp = as_alice.get("/api/users/account")  # the caller's own by default
    assert resp.status_code == 200
    view = resp.get_json()["data"]
    assert (view["user"], view["cash"], view["reserved_cash"]) == (name, "5.00", "20.00")
    assert [(p["symbol"], p["shares"], p["amount"]) for p in view["pending_buys"]] == [
        ("ABC", 2, "20.00")
    ]
    assert [(e["action"], e["funds"]) for e in view["recent_transactions"]] == [
        ("remove", "20.00"),  # the BUY's reserve, newest first
        ("add", "25.00"),
    ]
    assert as_alice.get(f"/api/users/account?user={name}").get_json()["data"] == view

    assert store.user_log(name) == logged  # no userCommand, nothing at all
    assert store.account(name)["v"] == version
    summary = as_alice.summary(name)  # DISPLAY_SUMMARY: the same view, logged
    assert {k: v for k, v in summary.items() if k != "pending_buys"} == {
        k: v for k, v in view.items() if k != "pending_buys"
    }
    assert len(store.user_log(name, "userCommand")) == len(logged_commands(logged)) + 1


def logged_commands(entries: list[dict]) -> list[dict]:
    return [e for e in entries if e["type"] == "userCommand"]


def test_another_users_account_is_refused_and_a_missing_one_is_404(alice, platform):
    _, as_alice = alice
    other = random_user()
    platform.ok("ADD", user=other, amount="1.00")
    resp = as_alice.get(f"/api/users/account?user={other}")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
    missing = platform.get(f"/api/users/account?user={random_user()}")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    bad = platform.get("/api/users/account?user=not%20a%20name")
    assert bad.status_code == 400
