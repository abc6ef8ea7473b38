"""The platform chain's transaction: its canonical bytes, id, signature and checks.

A transaction is a JSON object with exactly these fields::

    {"sender", "recipient", "asset", "amount", "fee", "nonce", "timestamp",
     "public_key", "id", "signature"}

``amount`` and ``fee`` are integer units, ``nonce`` counts the sender's transactions
from 1, ``timestamp`` is integer milliseconds. The canonical bytes are
``json.dumps(tx without id and signature, sort_keys=True, separators=(",", ":"))``;
``id`` is the hex sha256 of them and ``signature`` the hex DER ECDSA (SHA-256) of the
same bytes by the key whose compressed SEC1 hex is ``public_key`` and whose address is
``sender``. The fee is always paid in DTC.

A coinbase (the first transaction of a block, and the DUSD mint of the genesis block)
comes from ``"0"``, has no key or signature (empty strings) and a fee of 0.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Mapping

from ..errors import InvalidInput
from . import keys
from .units import ASSETS, DTC, MAX_UNITS

FIELDS = frozenset(
    {
        "sender",
        "recipient",
        "asset",
        "amount",
        "fee",
        "nonce",
        "timestamp",
        "public_key",
        "id",
        "signature",
    }
)
UNSIGNED = ("id", "signature")
COINBASE_SENDER = "0"
TX_ID = re.compile(r"[0-9a-f]{64}")
MAX_NONCE = 2**53 - 1
MAX_TIMESTAMP_MS = 2**53 - 1


class InvalidTransaction(InvalidInput):
    """A transaction that is malformed, badly signed or not allowed by the chain's rules."""

    code = "invalid_transaction"


def canonical_bytes(tx: Mapping) -> bytes:
    """The bytes that are hashed and signed: every field but ``id`` and ``signature``."""
    body = {name: value for name, value in tx.items() if name not in UNSIGNED}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def transaction_id(tx: Mapping) -> str:
    """Hex sha256 of the canonical bytes."""
    return hashlib.sha256(canonical_bytes(tx)).hexdigest()


def now_ms() -> int:
    """The current time as integer milliseconds."""
    return time.time_ns() // 1_000_000


def build_transaction(
    private_key: str,
    recipient: str,
    amount: int,
    *,
    asset: str = DTC,
    fee: int = 0,
    nonce: int,
    timestamp: int | None = None,
) -> dict:
    """A signed transaction of ``amount`` units of ``asset`` from the key's address.

    ``nonce`` must be the sender's next one (the node's ``/addresses/<addr>`` nonce + 1).
    The result passes ``check_transaction``; a bad argument raises InvalidTransaction.
    """
    pair = keys.key_from_private(private_key)
    tx = {
        "sender": pair.address,
        "recipient": recipient,
        "asset": asset,
        "amount": amount,
        "fee": fee,
        "nonce": nonce,
        "timestamp": now_ms() if timestamp is None else timestamp,
        "public_key": pair.public_key,
    }
    message = canonical_bytes(tx)
    tx["id"] = hashlib.sha256(message).hexdigest()
    tx["signature"] = keys.sign(private_key, message)
    check_transaction(tx)
    return tx


def build_coinbase(recipient: str, amount: int, height: int, timestamp: int, asset: str = DTC):
    """The unsigned reward (or genesis mint) transaction of the block at ``height``.

    Its nonce is the block height, so two coinbases never share an id.
    """
    tx = {
        "sender": COINBASE_SENDER,
        "recipient": recipient,
        "asset": asset,
        "amount": amount,
        "fee": 0,
        "nonce": height,
        "timestamp": timestamp,
        "public_key": "",
        "signature": "",
    }
    tx["id"] = transaction_id(tx)
    check_structure(tx, coinbase=True)
    return tx


def _integer(tx: Mapping, name: str, low: int, high: int) -> None:
    value = tx[name]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidTransaction(f"{name} must be an integer from {low} to {high}")


def check_structure(tx: object, *, coinbase: bool = False) -> bytes:
    """Every field present, of the right type and range, and ``id`` matching the content.

    Returns the canonical bytes. Raises InvalidTransaction naming the first problem.
    Signatures are not checked here.
    """
    if not isinstance(tx, Mapping):
        raise InvalidTransaction("a transaction is a JSON object")
    missing = FIELDS - tx.keys()
    if missing:
        raise InvalidTransaction(f"transaction is missing {', '.join(sorted(missing))}")
    extra = tx.keys() - FIELDS
    if extra:
        raise InvalidTransaction(f"transaction has unknown fields {', '.join(sorted(extra))}")
    if coinbase:
        if tx["sender"] != COINBASE_SENDER or tx["public_key"] != "" or tx["signature"] != "":
            raise InvalidTransaction('a coinbase comes from "0" with no key or signature')
        if tx["fee"] != 0:
            raise InvalidTransaction("a coinbase pays no fee")
    else:
        if not isinstance(tx["sender"], str) or not keys.ADDRESS.fullmatch(tx["sender"]):
            raise InvalidTransaction("sender must be an address (40 lower-case hex digits)")
        if not isinstance(tx["public_key"], str) or not keys.PUBLIC_KEY.fullmatch(tx["public_key"]):
            raise InvalidTransaction("public_key must be a compressed SEC1 key in hex")
        if not isinstance(tx["signature"], str) or not keys.SIGNATURE.fullmatch(tx["signature"]):
            raise InvalidTransaction("signature must be a hex DER signature")
    if not isinstance(tx["recipient"], str) or not keys.ADDRESS.fullmatch(tx["recipient"]):
        raise InvalidTransaction("recipient must be an address (40 lower-case hex digits)")
    if tx["asset"] not in ASSETS:
        raise InvalidTransaction(f"asset must be one of {', '.join(ASSETS)}")
    _integer(tx, "amount", 1, MAX_UNITS)
    _integer(tx, "fee", 0, MAX_UNITS)
    _integer(tx, "nonce", 0 if coinbase else 1, MAX_NONCE)
    _integer(tx, "timestamp", 0, MAX_TIMESTAMP_MS)
    message = canonical_bytes(tx)
    if not isinstance(tx["id"], str) or tx["id"] != hashlib.sha256(message).hexdigest():
        raise InvalidTransaction("id is not the sha256 of the transaction's canonical bytes")
    return message


def check_signature(tx: Mapping, message: bytes | None = None) -> None:
    """The public key is the sender's and signed exactly this transaction
    (``message``: its canonical bytes, when the caller has them already)."""
    if keys.address_of(tx["public_key"]) != tx["sender"]:
        raise InvalidTransaction("public_key does not belong to sender")
    message = canonical_bytes(tx) if message is None else message
    if not keys.verify(tx["public_key"], tx["signature"], message):
        raise InvalidTransaction("signature does not verify")


def check_transaction(tx: object) -> None:
    """Structure and signature of a (non-coinbase) transaction; InvalidTransaction if bad.

    Whether the sender can afford it and the nonce is the next one depends on the chain,
    and is the node's check.
    """
    check_signature(tx, check_structure(tx))
