"""Replaying the course's workloads through NGINX with input_script.py.

The stack runs with a fixed quote price and long validity windows, so the outcome of
every command is determined: a reference run of the same rules over the workload says
where each errorEvent must stand and what each user's cash must be.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
import requests
from lxml import etree

from input_script import parse_workload
from services.common.domain.money import parse_cents
from tests.conftest import FIXED_PRICE, SECRETS
from tests.expected import spec_reading
from tests.helpers import service_headers
from tools.reference import reference_run

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
WORKLOADS = ROOT.parent / "shared" / "compat" / "workloads"
SCHEMA = etree.XMLSchema(etree.parse(str(ROOT / "schema" / "logfile.xsd")))
PRICE = parse_cents(FIXED_PRICE)


def replay(stack, workload: Path, workdir: Path, batch: int = 1) -> dict:
    """Run input_script.py as a user would; return its JSON figures."""
    stats = workdir / "stats.json"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "input_script.py"),
            str(workload),
            "--url",
            stack.nginx_url,
            "--json",
            str(stats),
            "--batch",
            str(batch),
            "--quiet",
        ],
        cwd=workdir,
        env={"SERVICE_PASSWORD": SECRETS["SERVICE_PASSWORD"], "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "commands/s" in result.stdout
    return json.loads(stats.read_text())


@pytest.mark.timeout(900)  # the 10-user replay takes minutes on FerretDB (docs/benchmarks.md)
@pytest.mark.parametrize(
    ("name", "batch"),
    [
        ("1userWorkLoad", 1),
        ("10User_testWorkLoad", 1),
        # The same checks when each user's commands go in BATCH requests (other users).
        ("2userWorkLoad", 50),
        ("45User_testWorkLoad", 100),
    ],
)
def test_replaying_a_course_workload_gives_a_valid_complete_and_correct_log(
    stack, tmp_path, name, batch
):
    workload = parse_workload((WORKLOADS / name).read_text())
    figures = replay(stack, WORKLOADS / name, tmp_path, batch)

    assert figures["commands"] == len(workload.lines)
    assert figures["failed_by_command"] == {}
    assert figures["commands_per_s"] > 0

    dump = tmp_path / "testLOG"  # the file name the workload's DUMPLOG gives
    log = etree.parse(str(dump))
    SCHEMA.assertValid(log)

    # The session's stack is shared, so look only at entries of this workload's users.
    users = {line.user for line in workload.lines if line.user}

    def mine(kind: str):
        for e in log.getroot().iter(kind):
            if e.findtext("username") in users or e.findtext("command") == "DUMPLOG":
                yield int(e.findtext("transactionNum")), e

    commands = {txn: e.findtext("command") for txn, e in mine("userCommand")}
    missing = [line.txn for line in workload.lines if commands.get(line.txn) != line.command]
    assert missing == [], f"lines without their userCommand: {missing[:20]}"

    expected = reference_run(workload.lines, PRICE)
    failing = expected.failing
    cash = {user: account.cash for user, account in expected.accounts.items()}
    if name in spec_reading.COMMITTED:
        # Expectations worked out apart from the code under test (tests/expected/).
        committed = json.loads((spec_reading.HERE / f"{name}.json").read_text())
        assert PRICE == committed["price_cents"]
        assert failing == set(committed["errors"])
        assert cash == committed["cash_cents"]
    assert {txn for txn, _ in mine("errorEvent")} == failing

    moved: dict[str, int] = defaultdict(int)
    for entry in log.getroot().iter("accountTransaction"):
        cents = parse_cents(entry.findtext("funds"))
        sign = 1 if entry.findtext("action") == "add" else -1
        moved[entry.findtext("username")] += sign * cents

    session = requests.Session()
    headers = service_headers(session, stack.nginx_url)
    for user, expected in cash.items():
        resp = session.post(
            f"{stack.nginx_url}/api/users/display-summary", json={"user": user}, headers=headers
        )
        assert resp.status_code == 200, resp.text
        shown = parse_cents(resp.json()["data"]["cash"]) if expected else 0
        assert moved[user] == expected == shown, user
