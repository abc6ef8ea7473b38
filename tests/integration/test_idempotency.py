"""Idempotency-Key: a retried command returns its first answer and changes nothing."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.helpers import random_symbol, random_user

pytestmark = pytest.mark.integration


def key() -> dict:
    return {"Idempotency-Key": f"test:{uuid.uuid4().hex}"}


def post(platform, command: str, headers: dict, **fields):
    resp = platform.send(command, fields, headers=headers)
    return resp.status_code, resp.get_json()


def test_a_retried_buy_answers_the_same_and_buys_once(platform, store):
    user, symbol, same = random_user(), random_symbol(), key()
    platform.ok("ADD", user=user, amount="100.00")

    first = post(platform, "BUY", same, user=user, symbol=symbol, amount="30.00")
    log_after_first = store.user_log(user)
    retry = post(platform, "BUY", same, user=user, symbol=symbol, amount="30.00")

    assert first == retry
    assert first[0] == 200
    summary = platform.summary(user)
    assert summary["cash"] == "70.00"
    assert len(summary["pending_buys"]) == 1
    assert store.user_log(user)[: len(log_after_first)] == log_after_first
    removes = store.user_log(user, "accountTransaction")
    assert [e["funds"] for e in removes if e["action"] == "remove"] == [3000]


def test_concurrent_retries_of_one_add_add_the_money_once(platform, store):
    user, same = random_user(), key()
    platform.ok("ADD", user=user, amount="1.00")

    def add(_):
        return post(platform, "ADD", same, user=user, amount="10.00")

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(add, range(10)))
    assert {status for status, _ in answers} == {200}
    assert {body["data"]["cash"] for _, body in answers} == {"11.00"}
    assert platform.summary(user)["cash"] == "11.00"
    assert store.cash_by_the_log(user) == 1100


def test_a_key_reused_for_a_different_request_is_refused_and_changes_nothing(platform, store):
    user, same = random_user(), key()
    platform.ok("ADD", user=user, amount="5.00")
    assert post(platform, "ADD", same, user=user, amount="1.00")[0] == 200

    status, body = post(platform, "ADD", same, user=user, amount="2.00")
    assert status == 422
    assert body["error"]["code"] == "idempotency_key_reused"
    assert platform.summary(user)["cash"] == "6.00"
    errors = store.user_log(user, "errorEvent")
    assert [e["command"] for e in errors] == ["ADD"]


def test_different_keys_are_different_commands(platform):
    user = random_user()
    for _ in range(2):
        assert post(platform, "ADD", key(), user=user, amount="4.00")[0] == 200
    assert platform.summary(user)["cash"] == "8.00"


def test_a_malformed_key_is_bad_input(platform):
    user = random_user()
    status, body = post(
        platform, "ADD", {"Idempotency-Key": "no spaces allowed"}, user=user, amount="1.00"
    )
    assert status == 400
    assert "Idempotency-Key" in body["error"]["message"]


def test_a_retry_after_a_refusal_gets_the_refusal_and_runs_nothing(platform, store):
    """Issue 18, item 8: a 409 is an answer too, kept for the window."""
    user, symbol, same = random_user(), random_symbol(), key()
    platform.ok("ADD", user=user, amount="5.00")
    first = post(platform, "BUY", same, user=user, symbol=symbol, amount="30.00")
    assert first[0] == 409 and first[1]["error"]["code"] == "insufficient_funds"
    platform.ok("ADD", user=user, amount="100.00")  # the BUY would pass now
    logged = store.user_log(user)

    assert post(platform, "BUY", same, user=user, symbol=symbol, amount="30.00") == first
    assert store.user_log(user) == logged  # not run, not logged
    assert platform.summary(user)["pending_buys"] == []


def test_a_late_retry_gets_its_first_answer_after_many_other_keys(platform, store):
    """Issue 18, item 8: the account keeps its newest 16 answers; the window keeps the
    rest. 20 keyed commands later, the first one's retry still changes nothing."""
    user, first_key = random_user(), key()
    first = post(platform, "ADD", first_key, user=user, amount="1.00")
    assert first[0] == 200
    for _ in range(20):
        assert post(platform, "ADD", key(), user=user, amount="0.01")[0] == 200

    assert post(platform, "ADD", first_key, user=user, amount="1.00") == first
    assert platform.summary(user)["cash"] == "1.20"  # $1.00 once, and 20 cents
    assert store.cash_by_the_log(user) == 120
