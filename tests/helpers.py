"""Test data and action helpers shared by the tiers."""

from __future__ import annotations

import random
import string
import uuid

import pytest
import requests

from tests.conftest import SECRETS


def random_user() -> str:
    """A user id no other test uses."""
    return "u" + uuid.uuid4().hex[:12]


def random_symbol() -> str:
    """A 3-letter symbol, so quote-cache keys rarely collide between tests."""
    return "".join(random.choices(string.ascii_uppercase, k=3))


def login(session: requests.Session, base_url: str, username: str, password: str) -> dict:
    """Log in and return Authorization headers."""
    resp = session.post(
        f"{base_url}/api/users/login", json={"username": username, "password": password}
    )
    resp.raise_for_status()
    return {"Authorization": f"Bearer {resp.json()['data']['token']}"}


def service_headers(session: requests.Session, base_url: str) -> dict:
    """Headers of the replayer's service credential (may act for anyone)."""
    resp = session.post(
        f"{base_url}/api/users/service-login",
        json={"username": "replayer", "password": SECRETS["SERVICE_PASSWORD"]},
    )
    resp.raise_for_status()
    return {"Authorization": f"Bearer {resp.json()['data']['token']}"}


def admin_headers(session: requests.Session, base_url: str) -> dict:
    return login(session, base_url, "admin", SECRETS["ADMIN_PASSWORD"])


def module_stack(name: str, start_stack, **options):
    """A module-scoped fixture called ``name``: the stack ``start_stack(folder, **options)``
    starts in a temporary folder, stopped after the module's last test."""

    @pytest.fixture(scope="module", name=name)
    def stack_fixture(tmp_path_factory):
        stack = start_stack(tmp_path_factory.mktemp(name) / "stack", **options)
        yield stack
        stack.stop()

    return stack_fixture
