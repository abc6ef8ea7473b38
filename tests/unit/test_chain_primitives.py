"""The shared chain primitives: keys, units and transactions, checked against values worked
out by hand (the secp256k1 generator point is the public key of private key 1)."""

from __future__ import annotations

import hashlib

import coincurve
import pytest

from services.common.chain import keys, transactions, units
from services.common.chain.transactions import InvalidTransaction
from services.common.errors import InvalidInput

PRIVATE_ONE = "00" * 31 + "01"
# The secp256k1 generator G, compressed (SEC 2, section 2.4.1).
G_COMPRESSED = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
G_ADDRESS = hashlib.sha256(bytes.fromhex(G_COMPRESSED)).hexdigest()[:40]
RECIPIENT = "ab" * 20


def test_private_key_one_has_the_generator_as_public_key_and_its_hash_as_address():
    pair = keys.key_from_private(PRIVATE_ONE)
    assert pair.public_key == G_COMPRESSED
    assert pair.address == G_ADDRESS
    assert len(pair.address) == 40


def test_generated_keys_are_distinct_and_well_formed():
    first, second = keys.generate_key(), keys.generate_key()
    assert first.private_key != second.private_key
    assert keys.PUBLIC_KEY.fullmatch(first.public_key)
    assert first.address == hashlib.sha256(bytes.fromhex(first.public_key)).hexdigest()[:40]


def test_signatures_verify_only_for_the_same_key_and_message():
    pair = keys.generate_key()
    other = keys.generate_key()
    signature = keys.sign(pair.private_key, b"hello")
    assert keys.verify(pair.public_key, signature, b"hello")
    assert not keys.verify(pair.public_key, signature, b"hellO")
    assert not keys.verify(other.public_key, signature, b"hello")
    assert not keys.verify(pair.public_key, "zz", b"hello")
    assert not keys.verify(pair.public_key, "30" * 8, b"hello")
    assert not keys.verify("02" + "00" * 32, signature, b"hello")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 100_000_000),
        ("1.5", 150_000_000),
        ("0.00000001", 1),
        ("21000000.12345678", 2_100_000_012_345_678),
        ("10000000000", 10_000_000_000 * 100_000_000),
    ],
)
def test_parse_units_reads_decimal_strings_exactly(text, expected):
    assert units.parse_units(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        1.5,
        1,
        None,
        "1e3",
        "1.123456789",
        "-1",
        "+1",
        " 1",
        "1.",
        ".5",
        "0",
        "0.0",
        "1,5",
        "10000000000.00000001",
        "99999999999",
        "NaN",
        "",
        "１",
    ],
)
def test_parse_units_refuses_everything_else(text):
    with pytest.raises(InvalidInput):
        units.parse_units(text)


def test_parse_units_takes_zero_and_negatives_only_when_asked():
    assert units.parse_units("0", allow_zero=True) == 0
    assert units.parse_units("-0.5", allow_negative=True) == -50_000_000


def test_format_units_has_exactly_eight_decimals():
    assert units.format_units(150_000_000) == "1.50000000"
    assert units.format_units(1) == "0.00000001"
    assert units.format_units(0) == "0.00000000"
    assert units.format_units(-5) == "-0.00000005"
    with pytest.raises(TypeError):
        units.format_units(1.5)


def test_a_transaction_worked_out_by_hand():
    tx = transactions.build_transaction(
        PRIVATE_ONE, RECIPIENT, 150_000_000, fee=1000, nonce=1, timestamp=1_700_000_000_000
    )
    canonical = (
        '{"amount":150000000,"asset":"DTC","fee":1000,"nonce":1,'
        f'"public_key":"{G_COMPRESSED}","recipient":"{RECIPIENT}",'
        f'"sender":"{G_ADDRESS}","timestamp":1700000000000}}'
    )
    assert transactions.canonical_bytes(tx) == canonical.encode()
    assert tx["id"] == hashlib.sha256(canonical.encode()).hexdigest()
    assert tx["sender"] == G_ADDRESS and tx["public_key"] == G_COMPRESSED
    # The signature is DER ECDSA over sha256(canonical), checked with the library itself.
    public = coincurve.PublicKey(bytes.fromhex(G_COMPRESSED))
    assert public.verify(bytes.fromhex(tx["signature"]), canonical.encode())
    assert bytes.fromhex(tx["signature"])[0] == 0x30  # a DER SEQUENCE
    transactions.check_transaction(tx)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", 150_000_001),
        ("fee", 0),
        ("nonce", 2),
        ("recipient", "cd" * 20),
        ("asset", "DUSD"),
        ("timestamp", 1_700_000_000_001),
    ],
)
def test_a_tampered_field_fails_even_with_the_id_recomputed(field, value):
    tx = transactions.build_transaction(
        PRIVATE_ONE, RECIPIENT, 150_000_000, fee=1000, nonce=1, timestamp=1_700_000_000_000
    )
    tampered = {**tx, field: value}
    with pytest.raises(InvalidTransaction, match="id is not"):
        transactions.check_transaction(tampered)
    tampered["id"] = transactions.transaction_id(tampered)
    with pytest.raises(InvalidTransaction, match="signature does not verify"):
        transactions.check_transaction(tampered)


def test_someone_elses_key_cannot_spend_from_an_address():
    thief = keys.generate_key()
    tx = transactions.build_transaction(thief.private_key, RECIPIENT, 5, nonce=1)
    forged = {**tx, "sender": G_ADDRESS}
    forged["id"] = transactions.transaction_id(forged)
    with pytest.raises(InvalidTransaction, match="does not belong"):
        transactions.check_transaction(forged)


@pytest.mark.parametrize(
    "change",
    [
        {"amount": 0},
        {"amount": -1},
        {"amount": 1.5},
        {"amount": True},
        {"fee": -1},
        {"nonce": 0},
        {"asset": "BTC"},
        {"recipient": "AB" * 20},
        {"sender": "0"},
        {"extra": 1},
    ],
)
def test_malformed_transactions_are_refused(change):
    tx = transactions.build_transaction(PRIVATE_ONE, RECIPIENT, 10, nonce=1)
    with pytest.raises(InvalidTransaction):
        transactions.check_transaction({**tx, **change})


def test_missing_fields_and_non_objects_are_refused():
    tx = transactions.build_transaction(PRIVATE_ONE, RECIPIENT, 10, nonce=1)
    del tx["signature"]
    with pytest.raises(InvalidTransaction, match="missing signature"):
        transactions.check_transaction(tx)
    with pytest.raises(InvalidTransaction):
        transactions.check_transaction(["not", "a", "dict"])


def test_a_coinbase_has_no_key_and_its_height_as_nonce():
    coinbase = transactions.build_coinbase(RECIPIENT, 50 * 10**8, 7, 1_700_000_000_000)
    assert coinbase["sender"] == "0" and coinbase["nonce"] == 7
    body = (
        '{"amount":5000000000,"asset":"DTC","fee":0,"nonce":7,"public_key":"",'
        f'"recipient":"{RECIPIENT}","sender":"0","timestamp":1700000000000}}'
    )
    assert coinbase["id"] == hashlib.sha256(body.encode()).hexdigest()
    with pytest.raises(InvalidTransaction):
        transactions.check_transaction(coinbase)
