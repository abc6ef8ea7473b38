"""Bounds on what triggers cost (issue 18, item 5): automatic buys and sells per user,
and distinct armed symbols platform-wide (each is a billed quote per QUOTE_TTL_S)."""

from __future__ import annotations

import uuid

import pytest

from services.common.backend import Backend
from services.common.config import load_settings
from services.trigger_checker.service import check_triggers
from tests.helpers import random_user

pytestmark = pytest.mark.integration


@pytest.fixture
def bounded(platform_with, settings):
    """Services allowing 2 setups per user and 2 armed symbols, on a database (and so an
    armed-symbol set) of their own; and the trigger checker's adapters on it."""
    limits = {
        "max_setups_per_user": 2,
        "max_armed_symbols": 2,
        "mongo_db": "tb_" + uuid.uuid4().hex[:10],
    }
    checker = Backend(load_settings({**settings, **limits}))
    yield platform_with(**limits), checker
    checker.close()


def refused(reply, code: str) -> str:
    assert reply.status == 409, reply.body
    assert reply.error["code"] == code
    return reply.error["message"]


def test_a_user_holds_at_most_the_allowed_setups_both_sides_counted(bounded, store):
    platform, _ = bounded
    user = random_user()
    platform.ok("ADD", user=user, amount="100.00")
    platform.ok("BUY", user=user, symbol="AAA", amount="10.00")
    platform.ok("COMMIT_BUY", user=user)  # 1 share of AAA at $10.00, to sell
    platform.ok("SET_BUY_AMOUNT", user=user, symbol="BBB", amount="5.00")
    platform.ok("SET_SELL_AMOUNT", user=user, symbol="AAA", amount="10.00")
    third = platform.run("SET_BUY_AMOUNT", user=user, symbol="CCC", amount="5.00")
    assert "already has 2" in refused(third, "too_many_setups")
    platform.ok("SET_BUY_AMOUNT", user=user, symbol="BBB", amount="7.00")  # a change: fine
    platform.ok("CANCEL_SET_BUY", user=user, symbol="BBB")
    platform.ok("SET_BUY_AMOUNT", user=user, symbol="CCC", amount="5.00")  # room again
    summary = platform.summary(user)
    # $100.00 - $10.00 (AAA) - $5.00 (CCC's reserve); BBB's $7.00 came back.
    assert summary["cash"] == "85.00"
    assert [s["symbol"] for s in summary["buy_setups"]] == ["CCC"]


def test_the_platform_watches_at_most_the_allowed_symbols(bounded):
    platform, checker = bounded
    ann, bob = random_user(), random_user()
    for user in (ann, bob):
        platform.ok("ADD", user=user, amount="100.00")
    for symbol in ("DDA", "DDB"):
        platform.ok("SET_BUY_AMOUNT", user=ann, symbol=symbol, amount="10.00")
        platform.ok("SET_BUY_TRIGGER", user=ann, symbol=symbol, amount="1.00")  # never fires
    platform.ok("SET_BUY_AMOUNT", user=bob, symbol="DDA", amount="10.00")
    platform.ok("SET_BUY_TRIGGER", user=bob, symbol="DDA", amount="2.00")  # watched already
    platform.ok("SET_BUY_AMOUNT", user=bob, symbol="DDC", amount="10.00")
    third = platform.run("SET_BUY_TRIGGER", user=bob, symbol="DDC", amount="1.00")
    assert "watches 2 symbols" in refused(third, "too_many_armed_symbols")

    # Ann drops DDB; after the checker's next pass DDC has room.
    platform.ok("CANCEL_SET_BUY", user=ann, symbol="DDB")
    assert platform.run("SET_BUY_TRIGGER", user=bob, symbol="DDC", amount="1.00").status == 409
    check_triggers(checker)
    assert platform.ok("SET_BUY_TRIGGER", user=bob, symbol="DDC", amount="1.00") == {
        "reserve": "10.00",
        "trigger": "1.00",
    }
