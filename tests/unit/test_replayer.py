"""How input_script.py cuts a user's lines into requests."""

from __future__ import annotations

import input_script
from input_script import Line, requests_for


def lines(*commands: str) -> list[Line]:
    return [Line(n, c, ["u1"], f"[{n}] {c},u1") for n, c in enumerate(commands, start=1)]


def shape(groups) -> list[list[int]]:
    return [[line.txn for line in group] for group in groups]


def test_one_request_per_line_without_batches():
    assert shape(requests_for(lines("ADD", "BUY", "COMMIT_BUY"), 1)) == [[1], [2], [3]]


def test_consecutive_commands_go_in_batches_of_at_most_n_in_order():
    got = shape(requests_for(lines(*["ADD"] * 7), 3))
    assert got == [[1, 2, 3], [4, 5, 6], [7]]


def test_a_dumplog_goes_alone_and_splits_the_run_around_it():
    got = shape(requests_for(lines("ADD", "BUY", "DUMPLOG", "COMMIT_BUY", "DUMPLOG"), 10))
    assert got == [[1, 2], [3], [4], [5]]


def test_every_line_is_sent_exactly_once():
    workload = lines(*(["ADD", "QUOTE", "DUMPLOG", "SELL"] * 25))
    for size in (1, 2, 7, 100):
        sent = [line.txn for group in requests_for(workload, size) for line in group]
        assert sent == [line.txn for line in workload]


def test_the_service_password_is_found_in_the_env_file_beside_the_script(tmp_path, monkeypatch):
    beside, elsewhere = tmp_path / "repo", tmp_path / "elsewhere"
    beside.mkdir()
    elsewhere.mkdir()
    (beside / ".env").write_text("SERVICE_PASSWORD=from-beside-the-script\n")
    monkeypatch.delenv("SERVICE_PASSWORD", raising=False)
    monkeypatch.chdir(elsewhere)  # no .env in the working directory
    monkeypatch.setattr(input_script, "SCRIPT_DIR", beside)
    assert input_script._service_password(None) == "from-beside-the-script"
    (elsewhere / ".env").write_text("SERVICE_PASSWORD=from-the-working-dir\n")
    assert input_script._service_password(None) == "from-the-working-dir"  # it comes first
    assert input_script._service_password("given") == "given"
