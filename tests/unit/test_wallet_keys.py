"""The key vault: keys sealed at rest, never shown."""

from __future__ import annotations

import pytest

from services.common.chain import keys
from services.common.wallet_keys import KeyVault, PrivateKey, VaultError


def test_a_sealed_key_opens_only_with_the_same_encryption_key():
    vault = KeyVault(KeyVault.new_encryption_key())
    pair = keys.generate_key()
    sealed = vault.seal(pair.private_key)
    assert pair.private_key not in sealed
    assert vault.open(sealed).reveal() == pair.private_key
    with pytest.raises(VaultError) as raised:
        KeyVault(KeyVault.new_encryption_key()).open(sealed)
    assert pair.private_key not in str(raised.value)


def test_a_private_key_never_shows_in_repr_str_or_formatting():
    secret = "ab" * 32
    key = PrivateKey(secret)
    for text in (repr(key), str(key), f"{key}", f"{key!r}", repr([key])):
        assert secret not in text


def test_a_malformed_encryption_key_is_refused_without_echoing_it():
    with pytest.raises(ValueError) as raised:
        KeyVault("not-a-fernet-key-but-a-secret-value")
    assert "not-a-fernet-key" not in str(raised.value)
