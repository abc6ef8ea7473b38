"""The launcher runs the journal's persister and makes Redis durable for the journal."""

import pytest

from tools.stack import Ports, Stack


def programs(tmp_path, env: dict) -> dict:
    stack = Stack(tmp_path / "stack", Ports.free(), env=env, components={"redis", "services"})
    return {p.name: p for p in stack._programs()}


@pytest.mark.parametrize(
    ("store", "appendonly", "fsync"), [("journal", "yes", "always"), ("database", "no", "everysec")]
)
def test_redis_fsyncs_every_write_only_for_the_journal(tmp_path, store, appendonly, fsync):
    found = programs(tmp_path, {"LEDGER_STORE": store})
    argv = found["redis"].argv
    assert argv[argv.index("--appendonly") + 1] == appendonly
    assert argv[argv.index("--appendfsync") + 1] == fsync
    # Every service process is told the store Redis was configured for.
    assert found["persister"].env["LEDGER_STORE"] == store
    assert found["buy-1"].env["LEDGER_STORE"] == store


def test_the_persister_runs_with_the_services(tmp_path):
    persister = programs(tmp_path, {"LEDGER_STORE": "journal"})["persister"]
    assert persister.argv[-2:] == ("-m", "services.persister")
    assert persister.group == "services"


def test_the_database_store_is_the_default(tmp_path, monkeypatch):
    monkeypatch.delenv("LEDGER_STORE", raising=False)
    found = programs(tmp_path, {})
    argv = found["redis"].argv
    assert argv[argv.index("--appendonly") + 1] == "no"
    assert found["buy-1"].env["LEDGER_STORE"] == "database"
