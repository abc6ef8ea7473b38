"""Request bodies (services/common/schemas.py): strict types, no unknown fields."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.common.schemas import (
    AmountCommandBody,
    CredentialsBody,
    DumplogBody,
    SymbolCommandBody,
    TradeCommandBody,
    UserCommandBody,
)

GOOD = {
    UserCommandBody: {"user": "alice", "transactionNum": 3},
    SymbolCommandBody: {"user": "alice", "symbol": "ABC", "transactionNum": 3},
    AmountCommandBody: {"user": "alice", "amount": "12.50", "transactionNum": 3},
    TradeCommandBody: {"user": "alice", "symbol": "ABC", "amount": "12.50", "transactionNum": 3},
    DumplogBody: {"filename": "out.xml", "transactionNum": 3},
    CredentialsBody: {"username": "alice", "password": "correct horse"},
}
ALL_BODIES = list(GOOD)
USER_BODIES = [UserCommandBody, SymbolCommandBody, AmountCommandBody, TradeCommandBody]
SYMBOL_BODIES = [SymbolCommandBody, TradeCommandBody]
AMOUNT_BODIES = [AmountCommandBody, TradeCommandBody]
TXN_BODIES = [*USER_BODIES, DumplogBody]


def with_field(model, name, value) -> dict:
    body = dict(GOOD[model])
    body[name] = value
    return body


def refuse(model, body):
    with pytest.raises(ValidationError) as info:
        model.model_validate(body)
    return info.value


def name(value) -> str:
    return getattr(value, "__name__", None) or repr(value)[:20]


# --- good bodies --------------------------------------------------------------------


@pytest.mark.parametrize("model", ALL_BODIES, ids=name)
def test_a_good_body_is_accepted(model):
    model.model_validate(GOOD[model])


def test_amount_becomes_cents():
    body = TradeCommandBody.model_validate(GOOD[TradeCommandBody])
    assert body.amount == 1_250
    assert body.user == "alice" and body.symbol == "ABC" and body.transactionNum == 3
    assert AmountCommandBody.model_validate({"user": "a", "amount": "0.01"}).amount == 1


def test_transaction_number_is_optional():
    assert UserCommandBody.model_validate({"user": "alice"}).transactionNum is None


def test_dumplog_may_name_a_user():
    body = DumplogBody.model_validate({"filename": "bob.xml", "user": "bob"})
    assert body.user == "bob" and body.filename == "bob.xml"


@pytest.mark.parametrize("user", ["a", "A-z_09", "x" * 64])
def test_user_ids_of_1_to_64_allowed_characters_are_accepted(user):
    assert UserCommandBody.model_validate({"user": user}).user == user


@pytest.mark.parametrize("symbol", ["A", "AB", "XYZ"])
def test_symbols_of_1_to_3_capitals_are_accepted(symbol):
    assert SymbolCommandBody.model_validate({"user": "a", "symbol": symbol}).symbol == symbol


def test_bodies_are_frozen():
    body = AmountCommandBody.model_validate(GOOD[AmountCommandBody])
    with pytest.raises(ValidationError):
        body.amount = 999_999  # type: ignore[misc]


# --- mass assignment and unknown fields ---------------------------------------------


@pytest.mark.parametrize("model", ALL_BODIES, ids=name)
@pytest.mark.parametrize("extra", ["cash", "role", "admin", "holdings", "_id"])
def test_unknown_fields_are_refused(model, extra):
    error = refuse(model, with_field(model, extra, "999999.00"))
    assert error.errors()[0]["type"] == "extra_forbidden"


# --- users ---------------------------------------------------------------------------------


@pytest.mark.parametrize("model", USER_BODIES, ids=name)
@pytest.mark.parametrize(
    "user",
    [
        {"$gt": ""},
        {"$ne": None},
        ["alice"],
        None,
        5,
        True,
        "",
        "x" * 65,
        "bob smith",
        "bob\n",
        "b\u00f8b",
        "bob;drop",
        "$where",
        "alice.bob",
    ],
    ids=repr,
)
def test_bad_users_are_refused(model, user):
    refuse(model, with_field(model, "user", user))


@pytest.mark.parametrize("user", [{"$gt": ""}, "x" * 65, ""], ids=repr)
def test_bad_users_are_refused_in_dumplog_and_credentials(user):
    refuse(DumplogBody, with_field(DumplogBody, "user", user))
    refuse(CredentialsBody, with_field(CredentialsBody, "username", user))


def test_a_missing_user_is_refused():
    refuse(UserCommandBody, {"transactionNum": 1})


# --- symbols -------------------------------------------------------------------------------


@pytest.mark.parametrize("model", SYMBOL_BODIES, ids=name)
@pytest.mark.parametrize(
    "symbol",
    [
        {"$gt": ""},
        {"$regex": ".*"},
        ["ABC"],
        None,
        1,
        "",
        "abc",
        "Abc",
        "ABCD",
        "A1",
        "AB\n",
        " AB",
    ],
    ids=repr,
)
def test_bad_symbols_are_refused(model, symbol):
    refuse(model, with_field(model, "symbol", symbol))


# --- transaction numbers ---------------------------------------------------------------


@pytest.mark.parametrize("model", TXN_BODIES, ids=name)
@pytest.mark.parametrize(
    "txn", [True, False, "5", "", 5.0, 0, -1, 2**62, {"$gt": 0}, [1]], ids=repr
)
def test_bad_transaction_numbers_are_refused(model, txn):
    refuse(model, with_field(model, "transactionNum", txn))


@pytest.mark.parametrize("txn", [1, 2**62 - 1])
def test_transaction_numbers_from_1_below_2_to_the_62_are_accepted(txn):
    assert (
        UserCommandBody.model_validate({"user": "a", "transactionNum": txn}).transactionNum == txn
    )


# --- amounts ------------------------------------------------------------------------------


@pytest.mark.parametrize("model", AMOUNT_BODIES, ids=name)
@pytest.mark.parametrize(
    "amount",
    [
        {"$gt": ""},
        None,
        5,
        5.5,
        True,
        "0",
        "0.00",
        "-5",
        "1e5",
        "12.345",
        "abc",
        "",
        "1000000000.01",
    ],
    ids=repr,
)
def test_bad_amounts_are_refused_with_the_money_rule_message(model, amount):
    error = refuse(model, with_field(model, "amount", amount))
    assert error.errors()[0]["type"] == "value_error"
    assert "amount" in str(error)


@pytest.mark.parametrize("model", AMOUNT_BODIES, ids=name)
def test_a_missing_amount_is_refused(model):
    body = dict(GOOD[model])
    del body["amount"]
    refuse(model, body)


# --- DUMPLOG filename and credentials ----------------------------------------------------


@pytest.mark.parametrize(
    "filename", ["", "a<b.xml", "a&b.xml", "line\nbreak.xml", "nul\x00.xml", "x" * 256, 5, None]
)
def test_bad_dumplog_filenames_are_refused(filename):
    refuse(DumplogBody, {"filename": filename})


@pytest.mark.parametrize("password", ["short", "x" * 129, 12345678, {"$ne": ""}], ids=repr)
def test_bad_passwords_are_refused(password):
    refuse(CredentialsBody, {"username": "alice", "password": password})
