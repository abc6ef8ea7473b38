"""The launcher's documented ports and the free ports of test stacks never collide."""

from __future__ import annotations

import dataclasses

import pytest

from tools.stack import Ports


def _all_ports(ports: Ports) -> list[int]:
    found: list[int] = []
    for value in dataclasses.astuple(ports):
        found += list(value) if isinstance(value, tuple) else [value]
    return found


@pytest.mark.parametrize("replicas", [1, 2, 5])
def test_documented_ports_are_distinct(replicas):
    ports = _all_ports(Ports.local(replicas))
    assert len(ports) == len(set(ports))


def test_free_ports_cover_every_field_and_are_distinct():
    ports = Ports.free(3)
    every = _all_ports(ports)
    assert len(every) == len(set(every))
    assert all(len(ports.service(name)) == 3 for name in ("buy", "sell", "user_utilities"))
