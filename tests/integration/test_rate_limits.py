"""Rate limits: counted in Redis per client, shared by every worker, answered with 429."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import SECRETS
from tests.helpers import random_user

pytestmark = pytest.mark.integration


@pytest.fixture
def limited(platform_with):
    """Two independent sets of service apps (as two replicas would be) with low limits.

    Building each signs the replayer in once, so 2 of the 4 sign-ins per minute are used.
    """
    prefix = {"mongo_db": "rl_" + uuid.uuid4().hex[:10]}  # counters of this test only
    limits = {"rate_limit_default": "3/minute", "rate_limit_auth": "4/minute", **prefix}
    return platform_with(**limits), platform_with(**limits)


def test_a_user_over_the_limit_gets_429_on_every_replica(limited):
    first, second = limited
    name, password = random_user(), "a-long-password"
    assert (
        first.post("/api/users/register", {"username": name, "password": password}).status_code
        == 201
    )
    user = first.as_caller(first.login(name, password))
    other_replica = second.as_caller(user.headers)

    statuses = [user.run("QUOTE", user=name, symbol="RLA").status for _ in range(2)]
    statuses += [other_replica.run("QUOTE", user=name, symbol="RLA").status for _ in range(2)]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3] == 429

    refused = other_replica.run("ADD", user=name, amount="1.00")
    assert refused.status == 429
    assert refused.body["ok"] is False
    assert refused.body["error"]["code"] == "too_many_requests"


def test_the_workload_replayer_is_not_limited(limited):
    service, _ = limited
    user = random_user()
    service.ok("ADD", user=user, amount="100.00")
    statuses = {service.run("DISPLAY_SUMMARY", user=user).status for _ in range(8)}
    assert statuses == {200}


def test_password_guessing_from_one_address_is_slowed_down(limited):
    first, second = limited
    body = {"username": random_user(), "password": "wrong-password"}
    statuses = [first.post("/api/users/login", body).status_code]
    statuses += [second.post("/api/users/login", body).status_code for _ in range(2)]
    assert statuses == [401, 401, 429]
    # Even the right password waits out the window: the limit is per address.
    good = {"username": "replayer", "password": SECRETS["SERVICE_PASSWORD"]}
    assert second.post("/api/users/service-login", good).status_code == 429
