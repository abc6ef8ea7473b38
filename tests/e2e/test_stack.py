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


def test_the_database_files_and_the_cache_are_closed_to_others(tmp_path):
    """FerretDB's SQLite files are 0600, and Redis answers only with REDIS_PASSWORD."""
    env = {"REDIS_PASSWORD": "a-redis-password-" + os.urandom(8).hex()}
    stack = Stack(tmp_path / "stack", Ports.free(), env=env, components=INFRA)
    stack.start(timeout=90)
    try:
        mongo = pymongo.MongoClient(stack.mongo_uri, serverSelectionTimeoutMS=5000)
        try:
            mongo["closed"]["users"].insert_one({"_id": "u1", "cash": 1})
        finally:
            mongo.close()
        files = [p for p in (stack.base_dir / "mongo").rglob("*") if p.is_file()]
        assert any(p.suffix == ".sqlite" for p in files)  # FerretDB's (no mongod here)
        assert {oct(p.stat().st_mode & 0o777) for p in files} == {oct(0o600)}

        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host="127.0.0.1", port=stack.ports.redis).ping()
        assert redis.Redis.from_url(stack.redis_url).ping() is True  # the URL carries it
    finally:
        stack.stop()


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
