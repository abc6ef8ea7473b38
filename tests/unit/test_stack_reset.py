"""`make reset` (python -m tools.stack reset): a fresh database, only after confirming."""

from __future__ import annotations

import io
import sys

from tools import stack


def _stack_dir(tmp_path):
    base = tmp_path / "var"
    for name in ("mongo", "redis", "logs"):
        (base / name).mkdir(parents=True)
        (base / name / "data").write_text("kept until reset")
    return base


def test_reset_deletes_nothing_unless_confirmed(tmp_path, monkeypatch, capsys):
    base = _stack_dir(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO("yes\n"))  # not the word asked for
    assert stack.main(["reset", "--dir", str(base)]) == 1
    assert (base / "mongo" / "data").exists() and (base / "redis" / "data").exists()
    assert "Nothing deleted" in capsys.readouterr().out


def test_reset_deletes_the_data_and_keeps_the_logs_once_confirmed(tmp_path, monkeypatch):
    base = _stack_dir(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO("reset\n"))
    assert stack.main(["reset", "--dir", str(base)]) == 0
    assert not (base / "mongo").exists() and not (base / "redis").exists()
    assert (base / "logs" / "data").exists()
    _stack_dir(tmp_path / "again")
    assert stack.main(["reset", "--dir", str(tmp_path / "again" / "var"), "--yes"]) == 0
    assert not (tmp_path / "again" / "var" / "mongo").exists()
