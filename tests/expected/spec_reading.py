"""An independent reading of ../shared/spec/dts-commands.md, to check the platform against.

It shares no code with the platform (not its money parsing, not its domain rules, not its
workload parser): plain dicts and integer cents, written from the spec's text alone. With
one fixed quote price and no expiry (the replay stack's settings), it works out which
commands of a workload fail and each user's final cash. The results for the 1- and
2-user course workloads are committed beside this file (``<workload>.json``); the replay
tests and ``tests/unit/test_expectations.py`` compare the platform with them, and that
test also checks a few lines by hand.

    python -m tests.expected.spec_reading   # rewrite the committed files
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKLOADS = HERE.parents[2] / "shared" / "compat" / "workloads"
COMMITTED = ("1userWorkLoad", "2userWorkLoad")
PRICE_CENTS = 1000  # $10.00, the test quote server's fixed price

_LINE = re.compile(r"^\s*\[(\d+)\]\s*([A-Za-z_]+)\s*,?(.*)$")
_DOLLARS = re.compile(r"[0-9]+(\.[0-9]{1,2})?")
_USER = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SYMBOL = re.compile(r"[A-Z]{1,3}")
MAX_CENTS = 1_000_000_000 * 100  # "at most 1,000,000,000.00"


class Refused(Exception):
    """The command fails: an errorEvent, and nothing changes."""


def cents(text: str) -> int:
    """Dollars with at most two decimals, > 0 and <= 1,000,000,000.00, as cents."""
    if not _DOLLARS.fullmatch(text):
        raise Refused(f"not an amount: {text!r}")
    whole, _, fraction = text.partition(".")
    value = int(whole) * 100 + int((fraction + "00")[:2])
    if not 0 < value <= MAX_CENTS:
        raise Refused(f"amount out of range: {text!r}")
    return value


def _account() -> dict:
    return {
        "cash": 0,
        "holdings": {},
        "buys": [],  # pending buys, newest last: (symbol, shares, cost)
        "sells": [],  # pending sells, newest last: (symbol, shares, price)
        "buy_setups": {},  # symbol -> {"reserve", "trigger"}
        "sell_setups": {},  # symbol -> {"amount", "shares", "trigger"}
    }


def _arg(args: list[str], i: int) -> str:
    if len(args) <= i:
        raise Refused("missing argument")
    return args[i]


def _symbol(args: list[str]) -> str:
    symbol = _arg(args, 1)
    if not _SYMBOL.fullmatch(symbol):
        raise Refused(f"not a symbol: {symbol!r}")
    return symbol


def apply(accounts: dict[str, dict], command: str, args: list[str], price: int) -> None:
    """Apply one command to ``accounts`` (changed only when it succeeds); Refused if the
    spec says it fails."""
    user = _arg(args, 0)
    if not _USER.fullmatch(user):
        raise Refused(f"not a user id: {user!r}")
    if command == "ADD":
        amount = cents(_arg(args, 1))
        accounts.setdefault(user, _account())["cash"] += amount
        return
    if user not in accounts:
        raise Refused(f"account {user} does not exist")
    account = json.loads(json.dumps(accounts[user]))  # a copy: all or nothing
    _change(account, command, args, price)
    accounts[user] = account


def _change(a: dict, command: str, args: list[str], price: int) -> None:  # noqa: C901
    held = a["holdings"]
    if command in ("QUOTE", "DISPLAY_SUMMARY"):
        if command == "QUOTE":
            _symbol(args)
        return
    if command == "BUY":
        symbol, amount = _symbol(args), cents(_arg(args, 2))
        if a["cash"] < amount:
            raise Refused("insufficient cash")
        shares = amount // price
        if shares == 0:
            raise Refused("0 shares")
        a["cash"] -= shares * price
        a["buys"].append((symbol, shares, shares * price))
    elif command in ("COMMIT_BUY", "CANCEL_BUY"):
        if not a["buys"]:
            raise Refused("no pending buy")
        symbol, shares, cost = a["buys"].pop()
        if command == "COMMIT_BUY":
            held[symbol] = held.get(symbol, 0) + shares
        else:
            a["cash"] += cost
    elif command == "SELL":
        symbol, amount = _symbol(args), cents(_arg(args, 2))
        if held.get(symbol, 0) * price < amount:
            raise Refused("not enough shares")
        shares = amount // price
        if shares == 0:
            raise Refused("0 shares")
        held[symbol] -= shares
        a["sells"].append((symbol, shares, price))
    elif command in ("COMMIT_SELL", "CANCEL_SELL"):
        if not a["sells"]:
            raise Refused("no pending sell")
        symbol, shares, sold_at = a["sells"].pop()
        if command == "COMMIT_SELL":
            a["cash"] += shares * sold_at
        else:
            held[symbol] = held.get(symbol, 0) + shares
    elif command == "SET_BUY_AMOUNT":
        symbol, amount = _symbol(args), cents(_arg(args, 2))
        setup = a["buy_setups"].get(symbol, {"reserve": 0, "trigger": None})
        if a["cash"] + setup["reserve"] < amount:
            raise Refused("insufficient cash")
        a["cash"] += setup["reserve"] - amount
        a["buy_setups"][symbol] = {**setup, "reserve": amount}
    elif command == "SET_BUY_TRIGGER":
        symbol, trigger = _symbol(args), cents(_arg(args, 2))
        if symbol not in a["buy_setups"]:
            raise Refused("no buy setup")
        a["buy_setups"][symbol]["trigger"] = trigger
    elif command == "CANCEL_SET_BUY":
        symbol = _symbol(args)
        if symbol not in a["buy_setups"]:
            raise Refused("no buy setup")
        a["cash"] += a["buy_setups"].pop(symbol)["reserve"]
    elif command == "SET_SELL_AMOUNT":
        symbol, amount = _symbol(args), cents(_arg(args, 2))
        setup = a["sell_setups"].get(symbol, {"shares": 0, "trigger": None})
        if held.get(symbol, 0) + setup["shares"] < 1:
            raise Refused("no shares")
        a["sell_setups"][symbol] = {**setup, "amount": amount}
    elif command == "SET_SELL_TRIGGER":
        symbol, trigger = _symbol(args), cents(_arg(args, 2))
        setup = a["sell_setups"].get(symbol)
        if setup is None:
            raise Refused("no sell setup")
        available = held.get(symbol, 0) + setup["shares"]
        reserve = min(setup["amount"] // trigger, available)
        if reserve == 0:
            raise Refused("0 shares set aside")
        held[symbol] = available - reserve
        setup.update(shares=reserve, trigger=trigger)
    elif command == "CANCEL_SET_SELL":
        symbol = _symbol(args)
        if symbol not in a["sell_setups"]:
            raise Refused("no sell setup")
        held[symbol] = held.get(symbol, 0) + a["sell_setups"].pop(symbol)["shares"]
    else:
        raise Refused(f"unknown command {command}")


def outcome(text: str, price: int = PRICE_CENTS) -> dict:
    """Which transaction numbers fail and each user's final cash (cents), for a workload."""
    accounts: dict[str, dict] = {}
    errors = []
    for raw in text.splitlines():
        match = _LINE.match(raw)
        if not match:
            continue
        txn, command = int(match.group(1)), match.group(2).upper()
        args = [part.strip() for part in match.group(3).split(",")] if match.group(3) else []
        if command == "DUMPLOG":
            continue  # the administrator's dump changes nothing
        try:
            apply(accounts, command, args, price)
        except Refused:
            errors.append(txn)
    cash = {user: account["cash"] for user, account in sorted(accounts.items())}
    return {"price_cents": price, "errors": errors, "cash_cents": cash}


def main() -> int:
    for name in COMMITTED:
        result = outcome((WORKLOADS / name).read_text())
        (HERE / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
