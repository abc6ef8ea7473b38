"""The `.env` that `make up` writes: every secret, including ones added since a file was
made (REDIS_PASSWORD, MONGO_PASSWORD), without touching the ones already there."""

from __future__ import annotations

import base64

from tools import stack


def test_an_old_env_file_gets_the_missing_secrets_and_keeps_its_own(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("JWT_SECRET=kept-jwt-secret\nADMIN_PASSWORD=kept\nSERVICE_PASSWORD=kept\n")
    assert stack.ensure_env_file(env_file) is False  # not created: it was there
    values = stack.load_env_file(env_file)
    assert values["JWT_SECRET"] == "kept-jwt-secret" and values["ADMIN_PASSWORD"] == "kept"
    assert len(values["REDIS_PASSWORD"]) >= 32 and len(values["MONGO_PASSWORD"]) >= 32
    assert len(base64.urlsafe_b64decode(values["WALLET_ENCRYPTION_KEY"])) == 32  # Fernet's
    stack.ensure_env_file(env_file)
    assert stack.load_env_file(env_file) == values  # a second run changes nothing


def test_a_new_env_file_is_private_and_holds_every_secret(tmp_path):
    env_file = tmp_path / ".env"
    assert stack.ensure_env_file(env_file) is True
    assert env_file.stat().st_mode & 0o777 == 0o600
    assert set(stack.load_env_file(env_file)) == {*stack.SECRET_KEYS, stack.WALLET_KEY}


def test_the_redis_url_carries_the_password_when_there_is_one(tmp_path):
    ports = stack.Ports.free()
    with_password = stack.Stack(tmp_path / "a", ports, {"REDIS_PASSWORD": "p/w"})
    assert with_password.redis_url == f"redis://:p%2Fw@127.0.0.1:{ports.redis}/0"
    assert stack.Stack(tmp_path / "b", ports, {}).redis_url == f"redis://127.0.0.1:{ports.redis}/0"
