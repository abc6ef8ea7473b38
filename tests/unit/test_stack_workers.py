"""How many gunicorn workers the launcher gives each service's instances."""

import pytest

from tools.stack import SERVICES, Ports, Stack

#: What each service gets with no setting: its share of the work (tools/stack.py).
DEFAULTS = {
    "buy": "2",
    "sell": "1",
    "user_utilities": "3",
    "exchange": "2",
    "wallet": "2",
    "mining": "1",
}


def workers_by_instance(tmp_path, env: dict) -> dict[str, str]:
    stack = Stack(tmp_path / "stack", Ports.free(), env=env, components={"services"})
    programs = [p for p in stack._programs() if "--workers" in p.argv]  # gunicorn's
    return {p.name: p.argv[p.argv.index("--workers") + 1] for p in programs}


def expected(counts: dict[str, str]) -> dict[str, str]:
    """Both instances of every service with ``counts`` (a service's name -> workers)."""
    return {
        f"{service.replace('_', '-')}-{n}": counts[service] for service in SERVICES for n in (1, 2)
    }


@pytest.mark.parametrize(
    ("env", "changed"),
    [
        ({}, {}),  # the defaults, by each service's share of the work
        ({"WEB_CONCURRENCY": "4"}, dict.fromkeys(SERVICES, "4")),  # one count for every one
        (
            {"WEB_CONCURRENCY": "4", "WEB_CONCURRENCY_SELL": "2"},
            {**dict.fromkeys(SERVICES, "4"), "sell": "2"},
        ),
        ({"WEB_CONCURRENCY": "", "WEB_CONCURRENCY_USER_UTILITIES": "5"}, {"user_utilities": "5"}),
        ({"WEB_CONCURRENCY_EXCHANGE": "3"}, {"exchange": "3"}),
        ({"WEB_CONCURRENCY_WALLET": "1"}, {"wallet": "1"}),
        ({"WEB_CONCURRENCY_MINING": "2"}, {"mining": "2"}),
    ],
)
def test_each_service_gets_its_own_worker_count(tmp_path, env, changed):
    assert set(DEFAULTS) == set(SERVICES)
    assert workers_by_instance(tmp_path, env) == expected({**DEFAULTS, **changed})
