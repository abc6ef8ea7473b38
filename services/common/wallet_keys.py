"""The wallet's keys: a vault that encrypts private keys at rest, and the addresses.

- ``KeyVault`` encrypts and decrypts private keys with Fernet (AES-128-CBC + HMAC-SHA256,
  from ``cryptography``) under ``WALLET_ENCRYPTION_KEY`` from ``.env``. A key only
  exists in clear inside the process that signs with it; it is never returned by a
  route, logged or put in an error (``PrivateKey`` hides it from ``repr``).
- ``DepositAddressRepository`` (``wallet_addresses``): one address per user, made on
  first use. The mining service pays pool payouts to these addresses and looks them up
  here (``address_of``) without importing the wallet service.
- ``SystemKeyRepository`` (``wallet_system_keys``): the platform's own signing wallets,
  the hot wallet and the gas keeper, made on first start. The cold wallet's key is never
  here: only its address is configured (``python -m services.wallet.cold_key`` prints a
  fresh pair for the operator to keep offline).
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from .chain import keys

HOT_WALLET = "hot"
GAS_KEEPER = "gas"


class VaultError(RuntimeError):
    """The vault cannot decrypt a key (a different WALLET_ENCRYPTION_KEY?)."""


class PrivateKey:
    """A private key in clear, as short-lived as its use; never shown by ``repr``/``str``."""

    __slots__ = ("_hex",)

    def __init__(self, private_key_hex: str):
        self._hex = private_key_hex

    def reveal(self) -> str:
        """The 64 hex digits, for signing only."""
        return self._hex

    def __repr__(self) -> str:
        return "PrivateKey(<hidden>)"

    __str__ = __repr__


class KeyVault:
    """Encrypts private keys for storage and decrypts them to sign."""

    def __init__(self, encryption_key: str):
        try:
            self._fernet = Fernet(encryption_key)
        except (ValueError, TypeError) as exc:
            # Not the key itself in the message: only what is wrong with it.
            raise ValueError(
                "WALLET_ENCRYPTION_KEY must be 32 url-safe base64-encoded bytes "
                "(Fernet.generate_key())"
            ) from exc

    @staticmethod
    def new_encryption_key() -> str:
        """A fresh WALLET_ENCRYPTION_KEY."""
        return Fernet.generate_key().decode()

    def seal(self, private_key: str) -> str:
        """The private key (hex) encrypted, as text to store."""
        return self._fernet.encrypt(private_key.encode()).decode()

    def open(self, sealed: str) -> PrivateKey:
        """The stored key decrypted; VaultError if it was sealed under another key."""
        try:
            return PrivateKey(self._fernet.decrypt(sealed.encode()).decode())
        except InvalidToken:
            raise VaultError("a stored wallet key does not decrypt with this key") from None


@dataclass(frozen=True)
class StoredAddress:
    """An address the platform controls; its key stays sealed until it signs."""

    owner: str
    address: str
    sealed_key: str


class DepositAddressRepository:
    """One deposit address per user, in ``wallet_addresses`` (``_id`` = the user)."""

    def __init__(self, db: Database):
        self._addresses = db["wallet_addresses"]

    def ensure_indexes(self) -> None:
        self._addresses.create_index("address", unique=True)

    def get_or_create(self, user: str, vault: KeyVault) -> str:
        """``user``'s deposit address, made (with a fresh key) on first use.

        Two requests at once both try to insert under the user's ``_id``; the unique
        index keeps the first and the second reads it back, so a user never has two.
        """
        existing = self.address_of(user)
        if existing is not None:
            return existing
        pair = keys.generate_key()
        try:
            self._addresses.insert_one(
                {"_id": user, "address": pair.address, "key": vault.seal(pair.private_key)}
            )
        except DuplicateKeyError:
            existing = self.address_of(user)
            if existing is None:  # the address (not the user) collided: practically never
                raise
            return existing
        return pair.address

    def address_of(self, user: str) -> str | None:
        """``user``'s deposit address, or None if they have none yet."""
        doc = self._addresses.find_one({"_id": user}, {"address": 1})
        return doc["address"] if doc else None

    def owners(self, addresses: list[str]) -> dict[str, str]:
        """Address -> user, for those of ``addresses`` that are deposit addresses."""
        if not addresses:
            return {}
        cursor = self._addresses.find({"address": {"$in": addresses}}, {"address": 1})
        return {doc["address"]: doc["_id"] for doc in cursor}

    def key_of(self, address: str) -> StoredAddress | None:
        """The sealed key of a deposit address (for its sweeps)."""
        doc = self._addresses.find_one({"address": address})
        if doc is None:
            return None
        return StoredAddress(doc["_id"], doc["address"], doc["key"])

    def key_of_user(self, user: str) -> StoredAddress | None:
        """The sealed key of ``user``'s deposit address (read by ``_id``)."""
        doc = self._addresses.find_one({"_id": user})
        if doc is None or "key" not in doc:
            return None
        return StoredAddress(doc["_id"], doc["address"], doc["key"])

    def all_addresses(self) -> list[str]:
        """Every deposit address (reserves read their balances)."""
        return [doc["address"] for doc in self._addresses.find({}, {"address": 1})]


class SystemKeyRepository:
    """The platform's own signing wallets (hot wallet, gas keeper), ``wallet_system_keys``."""

    def __init__(self, db: Database):
        self._keys = db["wallet_system_keys"]

    def get_or_create(self, name: str, vault: KeyVault) -> StoredAddress:
        """The wallet ``name``'s address and sealed key, made on first use (once, by
        the unique ``_id``, however many processes start at the same time)."""
        doc = self._keys.find_one({"_id": name})
        if doc is None:
            pair = keys.generate_key()
            try:
                self._keys.insert_one(
                    {"_id": name, "address": pair.address, "key": vault.seal(pair.private_key)}
                )
            except DuplicateKeyError:
                pass
            doc = self._keys.find_one({"_id": name})
        return StoredAddress(name, doc["address"], doc["key"])
