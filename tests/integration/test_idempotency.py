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
