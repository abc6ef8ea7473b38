"""Block hashing and proof of work for both rule sets, as pure functions.

dvf (chain-node-interop.md): a block's hash is ``sha256(json.dumps(block,
sort_keys=True))`` with Python's default separators, and the proof is valid when
``sha256(f"{last_proof}{proof}{last_hash}")`` starts with four hex zeros.

platform: a block's hash is the sha256 of its *header*, the canonical JSON
(``sort_keys``, no spaces) of ``difficulty, index, previous_hash, proof, timestamp,
tx_root``; the proof is valid when that hash has ``difficulty`` leading zero bits. The
header holds the Merkle root of the transaction ids, so the proof of work covers every
transaction: none can be changed after mining.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence

HEADER_FIELDS = ("difficulty", "index", "previous_hash", "proof", "timestamp", "tx_root")
EMPTY_ROOT = hashlib.sha256(b"").hexdigest()

# ------------------------------------------------------------------------- dvf


def dvf_hash(block: dict) -> str:
    """dvf's block hash: every key of the dict as served, Python's default JSON."""
    return hashlib.sha256(json.dumps(block, sort_keys=True).encode()).hexdigest()


def dvf_valid_proof(last_proof: object, proof: object, last_hash: str) -> bool:
    """dvf's proof of work: four leading hex zeros of the joined string."""
    guess = f"{last_proof}{proof}{last_hash}".encode()
    return hashlib.sha256(guess).hexdigest()[:4] == "0000"


def dvf_proof_of_work(
    last_proof: object, last_hash: str, stop: Callable[[], bool] | None = None
) -> int | None:
    """dvf's search: the first proof from 0 upward (None if ``stop()`` says so)."""
    proof = 0
    while not dvf_valid_proof(last_proof, proof, last_hash):
        proof += 1
        if stop is not None and proof % 20_000 == 0 and stop():
            return None
    return proof


# -------------------------------------------------------------------- platform


def merkle_root(tx_ids: Sequence[str]) -> str:
    """Bitcoin-style Merkle root of hex ids: pairwise sha256 of the concatenated bytes,
    the last one paired with itself on odd levels; the sha256 of nothing when empty."""
    if not tx_ids:
        return EMPTY_ROOT
    level = [bytes.fromhex(tx_id) for tx_id in tx_ids]
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [hashlib.sha256(level[i] + level[i + 1]).digest() for i in range(0, len(level), 2)]
    return level[0].hex()


def header_of(block: dict) -> dict:
    """The fields the proof of work covers."""
    return {name: block[name] for name in HEADER_FIELDS}


def header_bytes(block: dict) -> bytes:
    return json.dumps(header_of(block), sort_keys=True, separators=(",", ":")).encode()


def header_hash(block: dict) -> str:
    """A platform block's hash (its id): sha256 of the canonical header."""
    return hashlib.sha256(header_bytes(block)).hexdigest()


def meets_difficulty(block_hash: str, bits: int) -> bool:
    """Whether the hash has at least ``bits`` leading zero bits."""
    return int(block_hash, 16) >> (256 - bits) == 0


def work_of(bits: int) -> int:
    """Expected hashes to find a block at ``bits`` leading zero bits."""
    return 1 << bits


def solve_header(
    block: dict, stop: Callable[[], bool] | None = None, start: int = 0, check_every: int = 50_000
) -> dict | None:
    """Search ``proof`` from ``start`` until the header hash meets the block's difficulty.

    Returns the block with its proof set, or None when ``stop()`` (asked every
    ``check_every`` attempts) says to give up. The header's JSON is split around the
    proof so each attempt hashes only the proof and what follows it.
    """
    marker = 7_777_777_777_777
    text = json.dumps({**header_of(block), "proof": marker}, sort_keys=True, separators=(",", ":"))
    before, after = text.split(str(marker))
    prefix = hashlib.sha256(before.encode())
    suffix = after.encode()
    limit = 1 << (256 - block["difficulty"])
    proof = start
    while True:
        attempt = prefix.copy()
        attempt.update(str(proof).encode() + suffix)
        if int.from_bytes(attempt.digest(), "big") < limit:
            return {**block, "proof": proof}
        proof += 1
        if stop is not None and proof % check_every == 0 and stop():
            return None
