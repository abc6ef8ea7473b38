"""The launcher itself (tools/stack.py): infra comes up healthy, goes away completely on
stop, and supervisord restarts a program that dies."""

import os
import signal
import time
import urllib.request
from pathlib import Path

import pymongo
import pytest
import redis

from tools.stack import INFRA, Ports, Stack

pytestmark = pytest.mark.e2e

RESTART_WITHIN_S = 10.0


def _alive(pid: int) -> bool:
    """Whether `pid` runs (zombies left to a non-reaping PID 1 count as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _program_pid(stack: Stack, name: str) -> int | None:
    for program in stack.status():
        if program.name == name and program.state == "RUNNING":
            return program.pid
    return None


@pytest.fixture
def infra_stack(tmp_path):
    stack = Stack(tmp_path / "stack", Ports.free(), env={}, components=INFRA)
    stack.start(timeout=90)
    try:
        yield stack
    finally:
        stack.stop()


def test_infra_stack_answers_and_stop_leaves_no_process(tmp_path):
    stack = Stack(tmp_path / "stack", Ports.free(), env={}, components={"mongo", "redis", "quote"})
    stack.start(timeout=90)
    try:
        mongo = pymongo.MongoClient(stack.mongo_uri, serverSelectionTimeoutMS=5000)
        try:
            assert mongo.admin.command("ping")["ok"] == 1
        finally:
            mongo.close()
        assert redis.Redis.from_url(stack.redis_url).ping() is True
        with urllib.request.urlopen(f"{stack.quote_http_url}/health", timeout=5) as response:
            assert response.status == 200
        programs = {program.name: program for program in stack.status()}
        assert set(programs) == {"mongo", "redis", "quote-server"}
        assert all(program.state == "RUNNING" for program in programs.values())
        pids = [stack.supervisord_pid, *(program.pid for program in programs.values())]
        assert all(pid and _alive(pid) for pid in pids)
    finally:
        stack.stop()

    assert not [pid for pid in pids if _alive(pid)]
    assert stack.supervisord_pid is None
    assert stack.status() == []
    assert (stack.logs_dir / "redis.log").exists()


def test_supervisord_restarts_redis_after_sigkill(infra_stack):
    old_pid = _program_pid(infra_stack, "redis")
    assert old_pid

    os.kill(old_pid, signal.SIGKILL)

    deadline = time.monotonic() + RESTART_WITHIN_S
    new_pid = None
    while time.monotonic() < deadline:
        new_pid = _program_pid(infra_stack, "redis")
        if new_pid and new_pid != old_pid:
            break
        time.sleep(0.2)
    assert new_pid and new_pid != old_pid, "redis was not restarted in time"
    client = redis.Redis.from_url(infra_stack.redis_url, socket_timeout=2)
    assert client.ping() is True
