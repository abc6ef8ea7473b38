"""What a workload must leave behind: the same rules, applied one command at a time.

With a fixed quote price and windows longer than the run, every command's outcome is
determined; the replay tests and the fault-injection runs compare the platform with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from input_script import Line
from services.common.domain import account as rules
from services.common.domain.identifiers import check_symbol, check_user_id
from services.common.domain.money import parse_cents
from services.common.errors import NotFound, PlatformError

# Workload command -> the rule it applies, given (account, line arguments, txn, price).
_RULES = {
    "COMMIT_BUY": lambda a, args, n, p: rules.commit_buy(a),
    "CANCEL_BUY": lambda a, args, n, p: rules.cancel_buy(a),
    "COMMIT_SELL": lambda a, args, n, p: rules.commit_sell(a),
    "CANCEL_SELL": lambda a, args, n, p: rules.cancel_sell(a),
    "BUY": lambda a, args, n, p: rules.buy(a, args[1], parse_cents(args[2]), p, 0, n),
    "SELL": lambda a, args, n, p: rules.sell(a, args[1], parse_cents(args[2]), p, 0, n),
    "SET_BUY_AMOUNT": lambda a, args, n, p: rules.set_buy_amount(a, args[1], parse_cents(args[2])),
    "SET_BUY_TRIGGER": lambda a, args, n, p: rules.set_buy_trigger(
        a, args[1], parse_cents(args[2]), n
    ),
    "CANCEL_SET_BUY": lambda a, args, n, p: rules.cancel_set_buy(a, args[1]),
    "SET_SELL_AMOUNT": lambda a, args, n, p: rules.set_sell_amount(
        a, args[1], parse_cents(args[2])
    ),
    "SET_SELL_TRIGGER": lambda a, args, n, p: rules.set_sell_trigger(
        a, args[1], parse_cents(args[2]), n
    ),
    "CANCEL_SET_SELL": lambda a, args, n, p: rules.cancel_set_sell(a, args[1]),
    "QUOTE": lambda a, args, n, p: rules.Change(a),
    "DISPLAY_SUMMARY": lambda a, args, n, p: rules.Change(a),
}


@dataclass
class Outcome:
    """The transaction numbers that must fail, and every account at the end."""

    failing: set[int]
    accounts: dict[str, rules.Account]


def reference_run(lines: list[Line], price: int) -> Outcome:
    """Apply ``lines`` in order at a fixed ``price`` (cents), without expiry."""
    accounts: dict[str, rules.Account] = {}
    failing: set[int] = set()
    for line in lines:
        if line.command == "DUMPLOG":
            continue
        try:
            user = check_user_id(line.args[0] if line.args else None)
            if line.command == "ADD":
                current = accounts.get(user, rules.Account(user))
                amount = parse_cents(line.args[1] if len(line.args) > 1 else None)
                accounts[user] = rules.add_funds(current, amount).account
                continue
            if user not in accounts:
                raise NotFound(f"account {user} does not exist")
            if len(line.args) > 1:
                check_symbol(line.args[1])
            rule = _RULES[line.command]
            accounts[user] = rule(accounts[user], line.args, line.txn, price).account
        except (PlatformError, IndexError):
            failing.add(line.txn)
    return Outcome(failing, accounts)
