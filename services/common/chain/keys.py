"""secp256k1 keys, addresses and signatures (coincurve: libsecp256k1, no hand-written crypto).

- private key: 32 bytes, shown as 64 hex digits;
- public key: compressed SEC1 (33 bytes), shown as 66 hex digits;
- address: the first 40 hex digits of sha256(compressed public key bytes);
- signature: DER ECDSA over SHA-256 of the message, shown as hex.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from coincurve import PrivateKey, PublicKey

ADDRESS = re.compile(r"[0-9a-f]{40}")
PUBLIC_KEY = re.compile(r"0[23][0-9a-f]{64}")
PRIVATE_KEY = re.compile(r"[0-9a-f]{64}")
#: A DER ECDSA signature is at most 72 bytes (144 hex digits).
SIGNATURE = re.compile(r"(?:[0-9a-f]{2}){8,72}")


@dataclass(frozen=True)
class KeyPair:
    """A private key with its public key and address, all as lower-case hex."""

    private_key: str
    public_key: str
    address: str


def generate_key() -> KeyPair:
    """A fresh random key pair (the OS's CSPRNG, through coincurve)."""
    return key_from_private(PrivateKey().to_hex())


def key_from_private(private_key_hex: str) -> KeyPair:
    """The key pair of a known private key (64 hex digits); ValueError if it is not one."""
    if not isinstance(private_key_hex, str) or not PRIVATE_KEY.fullmatch(private_key_hex):
        raise ValueError("a private key is 64 lower-case hex digits")
    private = PrivateKey.from_hex(private_key_hex)
    public = private.public_key.format(compressed=True).hex()
    return KeyPair(private_key_hex, public, address_of(public))


def address_of(public_key_hex: str) -> str:
    """The address of a compressed public key: sha256(pubkey bytes), first 40 hex digits."""
    return hashlib.sha256(bytes.fromhex(public_key_hex)).hexdigest()[:40]


def sign(private_key_hex: str, message: bytes) -> str:
    """Hex DER ECDSA signature of sha256(message) (low-S, deterministic RFC 6979)."""
    return PrivateKey.from_hex(private_key_hex).sign(message).hex()


def verify(public_key_hex: str, signature_hex: str, message: bytes) -> bool:
    """True when ``signature_hex`` is a valid signature of ``message`` by the key.

    Malformed keys or signatures are simply not valid (False), never an exception.
    """
    if not (isinstance(public_key_hex, str) and PUBLIC_KEY.fullmatch(public_key_hex)):
        return False
    if not (isinstance(signature_hex, str) and SIGNATURE.fullmatch(signature_hex)):
        return False
    try:
        public = PublicKey(bytes.fromhex(public_key_hex))
        return public.verify(bytes.fromhex(signature_hex), message)
    except (ValueError, TypeError):
        return False
