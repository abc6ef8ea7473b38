"""How many gunicorn workers the launcher gives each service's instances."""

import pytest

from tools.stack import Ports, Stack


def workers_by_instance(tmp_path, env: dict) -> dict[str, str]:
    stack = Stack(tmp_path / "stack", Ports.free(), env=env, components={"services"})
    return {p.name: p.argv[p.argv.index("--workers") + 1] for p in stack._programs()}


@pytest.mark.parametrize(
    ("env", "buy", "sell", "users", "exchange"),
    [
        ({}, "2", "1", "3", "2"),  # the defaults, by each service's share of the work
        ({"WEB_CONCURRENCY": "4"}, "4", "4", "4", "4"),  # one count for every service
        ({"WEB_CONCURRENCY": "4", "WEB_CONCURRENCY_SELL": "2"}, "4", "2", "4", "4"),
        ({"WEB_CONCURRENCY": "", "WEB_CONCURRENCY_USER_UTILITIES": "5"}, "2", "1", "5", "2"),
        ({"WEB_CONCURRENCY_EXCHANGE": "3"}, "2", "1", "3", "3"),
    ],
)
def test_each_service_gets_its_own_worker_count(tmp_path, env, buy, sell, users, exchange):
    assert workers_by_instance(tmp_path, env) == {
        "buy-1": buy,
        "buy-2": buy,
        "sell-1": sell,
        "sell-2": sell,
        "user-utilities-1": users,
        "user-utilities-2": users,
        "exchange-1": exchange,
        "exchange-2": exchange,
    }
