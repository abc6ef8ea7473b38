"""The log's group commit: appends that arrive while a write is under way are written
together by the next caller, and every caller returns only once its entries are written."""

from __future__ import annotations

import threading
import time

import pytest

from services.common.repositories import _GroupCommit


class Writes:
    """A write function that records each call and can be held while a test lines up
    callers behind it."""

    def __init__(self, fail_on: str | None = None):
        self.calls: list[list[str]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.started = threading.Event()
        self.fail_on = fail_on

    def __call__(self, appends: list[list[dict]]) -> None:
        self.started.set()
        self.gate.wait(timeout=10)
        names = [e["n"] for entries in appends for e in entries]
        self.calls.append(names)
        if self.fail_on in names:
            raise ConnectionError("the database went away")


def entries(name: str) -> list[dict]:
    return [{"n": name}]


def test_an_append_with_nothing_under_way_is_written_at_once_by_its_caller():
    writes = Writes()
    group = _GroupCommit(writes)
    group.append(entries("a"))
    group.append(entries("b"))
    assert writes.calls == [["a"], ["b"]]


def run(group: _GroupCommit, name: str, done: dict, errors: dict) -> threading.Thread:
    def append() -> None:
        try:
            group.append(entries(name))
        except ConnectionError as exc:
            errors[name] = exc
        done[name] = time.monotonic()

    thread = threading.Thread(target=append)
    thread.start()
    return thread


def wait_until_queued(group: _GroupCommit, count: int) -> None:
    deadline = time.monotonic() + 5
    while len(group._queue) < count:
        assert time.monotonic() < deadline, "the callers never queued"
        time.sleep(0.001)


def test_appends_made_during_a_write_go_together_in_the_next_one():
    writes = Writes()
    writes.gate.clear()
    group = _GroupCommit(writes)
    done: dict[str, float] = {}
    first = run(group, "first", done, {})
    assert writes.started.wait(5)
    others = [run(group, name, done, {}) for name in ("b", "c", "d", "e")]
    wait_until_queued(group, 4)
    assert done == {}  # nobody returns before their entries are written
    released = time.monotonic()
    writes.gate.set()
    for thread in [first, *others]:
        thread.join(5)

    assert writes.calls[0] == ["first"]
    assert sorted(writes.calls[1]) == ["b", "c", "d", "e"]  # one write for the four
    assert len(writes.calls) == 2
    assert all(t >= released for t in done.values())


def test_a_failed_write_fails_every_caller_of_its_group_and_no_other():
    writes = Writes(fail_on="c")
    writes.gate.clear()
    group = _GroupCommit(writes)
    done: dict[str, float] = {}
    errors: dict[str, Exception] = {}
    first = run(group, "first", done, errors)
    assert writes.started.wait(5)
    others = [run(group, name, done, errors) for name in ("b", "c")]
    wait_until_queued(group, 2)
    writes.gate.set()
    for thread in [first, *others]:
        thread.join(5)

    assert set(errors) == {"b", "c"}
    assert set(done) == {"first", "b", "c"}
    group.append(entries("later"))  # the group commit keeps working after a failure
    assert writes.calls[-1] == ["later"]


def test_an_error_reaches_a_lone_caller_too():
    group = _GroupCommit(Writes(fail_on="x"))
    with pytest.raises(ConnectionError):
        group.append(entries("x"))
