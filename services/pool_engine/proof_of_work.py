"""Real proof of work on a chain-node's block template.

A template is the next block without its proof: ``index, timestamp, transactions,
previous_hash, tx_root, difficulty`` (the coinbase, first, pays the pool's address).
The proof of work covers the previous hash, ``tx_root``, the timestamp and the proof
(crypto-side.md, "Chain-node"): the block's hash is the hex sha256 of the canonical JSON
of those four fields, and it must start with ``difficulty`` zero bits.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping

HEADER_FIELDS = ("previous_hash", "proof", "timestamp", "tx_root")


def header_bytes(block: Mapping) -> bytes:
    """The bytes the proof of work hashes."""
    header = {name: block[name] for name in HEADER_FIELDS}
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()


def block_hash(block: Mapping) -> str:
    return hashlib.sha256(header_bytes(block)).hexdigest()


def meets(digest: bytes, difficulty_bits: int) -> bool:
    """Whether ``digest`` starts with ``difficulty_bits`` zero bits."""
    return int.from_bytes(digest, "big") >> (len(digest) * 8 - difficulty_bits) == 0


class ProofTimeout(Exception):
    """No proof was found before the deadline (a new template is needed)."""


def solve(template: Mapping, deadline_s: float, start: int = 0) -> dict:
    """The template with a proof that meets its difficulty; ProofTimeout past the
    deadline (``time.monotonic()``). Only the proof changes, so the prefix of the header
    up to it is encoded once."""
    difficulty = int(template["difficulty"])
    block = dict(template)
    block["proof"] = 0
    encoded = header_bytes(block)
    marker = b'"proof":0'
    head, _, tail = encoded.partition(marker)
    head += b'"proof":'
    proof = start
    while True:
        for _ in range(4096):
            digest = hashlib.sha256(head + str(proof).encode() + tail).digest()
            if meets(digest, difficulty):
                block["proof"] = proof
                return block
            proof += 1
        if time.monotonic() > deadline_s:
            raise ProofTimeout(f"no proof below {proof} within the time allowed")
