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

from input_script import Line, parse_workload
from services.common.domain import account as rules
from services.common.domain.identifiers import check_symbol, check_user_id
from services.common.domain.money import parse_cents
from services.common.errors import NotFound, PlatformError
from tests.conftest import FIXED_PRICE, SECRETS
from tests.helpers import service_headers

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
WORKLOADS = ROOT.parent / "shared" / "compat" / "workloads"
SCHEMA = etree.XMLSchema(etree.parse(str(ROOT / "schema" / "logfile.xsd")))
PRICE = parse_cents(FIXED_PRICE)

# Workload command -> the rule it applies, given (account, line arguments, txn).
_RULES = {
    "COMMIT_BUY": lambda a, args, n: rules.commit_buy(a),
    "CANCEL_BUY": lambda a, args, n: rules.cancel_buy(a),
    "COMMIT_SELL": lambda a, args, n: rules.commit_sell(a),
    "CANCEL_SELL": lambda a, args, n: rules.cancel_sell(a),
    "BUY": lambda a, args, n: rules.buy(a, args[1], parse_cents(args[2]), PRICE, 0, n),
    "SELL": lambda a, args, n: rules.sell(a, args[1], parse_cents(args[2]), PRICE, 0, n),
    "SET_BUY_AMOUNT": lambda a, args, n: rules.set_buy_amount(a, args[1], parse_cents(args[2])),
    "SET_BUY_TRIGGER": lambda a, args, n: rules.set_buy_trigger(
        a, args[1], parse_cents(args[2]), n
    ),
    "CANCEL_SET_BUY": lambda a, args, n: rules.cancel_set_buy(a, args[1]),
    "SET_SELL_AMOUNT": lambda a, args, n: rules.set_sell_amount(a, args[1], parse_cents(args[2])),
    "SET_SELL_TRIGGER": lambda a, args, n: rules.set_sell_trigger(
        a, args[1], parse_cents(args[2]), n
    ),
    "CANCEL_SET_SELL": lambda a, args, n: rules.cancel_set_sell(a, args[1]),
    "QUOTE": lambda a, args, n: rules.Change(a),
    "DISPLAY_SUMMARY": lambda a, args, n: rules.Change(a),
}


def reference_run(lines: list[Line]) -> tuple[set[int], dict[str, int]]:
    """The transaction numbers that must fail, and every user's final cash (cents)."""
    accounts: dict[str, rules.Account] = {}
    failing: set[int] = set()
    for line in lines:
        if line.command == "DUMPLOG":
            continue
        try:
            user = check_user_id(line.args[0])
            if line.command == "ADD":
                current = accounts.get(user, rules.Account(user))
                accounts[user] = rules.add_funds(current, parse_cents(line.args[1])).account
                continue
            if user not in accounts:
                raise NotFound(f"account {user} does not exist")
            if len(line.args) > 1:
                check_symbol(line.args[1])
            rule = _RULES[line.command]
            accounts[user] = rule(accounts[user], line.args, line.txn).account
        except PlatformError:
            failing.add(line.txn)
    return failing, {user: acct.cash for user, acct in accounts.items()}


def replay(stack, workload: Path, workdir: Path) -> dict:
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
@pytest.mark.parametrize("name", ["1userWorkLoad", "10User_testWorkLoad"])
def test_replaying_a_course_workload_gives_a_valid_complete_and_correct_log(stack, tmp_path, name):
    workload = parse_workload((WORKLOADS / name).read_text())
    figures = replay(stack, WORKLOADS / name, tmp_path)

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

    failing, cash = reference_run(workload.lines)
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
