"""Turn domain objects into JSON-ready dicts: money as two-decimal strings."""

from __future__ import annotations

from collections.abc import Mapping

from .domain.account import Account, Pending
from .domain.money import format_cents, format_price, format_units

MONEY_KEYS = {
    "cash",
    "price",
    "cost",
    "amount",
    "reserve",
    "refund",
    "proceeds",
    "trigger",
    "funds",
}


def money_fields(data: Mapping) -> dict:
    """Copy ``data`` with every money field (cents) as a dollar string."""
    return {
        k: format_cents(v) if k in MONEY_KEYS and isinstance(v, int) else v for k, v in data.items()
    }


def _pending(p: Pending, now_ms: int, ttl_ms: int) -> dict:
    return {
        "symbol": p.symbol,
        "shares": p.shares,
        "price": format_cents(p.price),
        "amount": format_cents(p.cost),
        "transactionNum": p.txn,
        "seconds_left": max(0, (p.created_ms + ttl_ms - now_ms) // 1000),
    }


def account_summary(account: Account, now_ms: int, ttl_ms: int) -> dict:
    """DISPLAY_SUMMARY's account part, newest pending trade first."""
    return {
        "user": account.user,
        "cash": format_cents(account.cash),
        "reserved_cash": format_cents(account.reserved_cash),
        "holdings": dict(sorted(account.holdings.items())),
        "pending_buys": [_pending(p, now_ms, ttl_ms) for p in reversed(account.pending_buys)],
        "pending_sells": [_pending(p, now_ms, ttl_ms) for p in reversed(account.pending_sells)],
        "buy_setups": [
            {
                "symbol": s.symbol,
                "reserve": format_cents(s.reserve),
                "trigger": format_cents(s.trigger) if s.trigger is not None else None,
            }
            for s in sorted(account.buy_setups.values(), key=lambda s: s.symbol)
        ],
        "sell_setups": [
            {
                "symbol": s.symbol,
                "amount": format_cents(s.amount),
                "shares_reserved": s.shares,
                "trigger": format_cents(s.trigger) if s.trigger is not None else None,
            }
            for s in sorted(account.sell_setups.values(), key=lambda s: s.symbol)
        ],
    }


def account_view(account: Account, now_ms: int, ttl_ms: int) -> dict:
    """The account as DISPLAY_SUMMARY shows it: the summary and its recent transactions.

    ``account`` is as the next command would see it (expired pending trades rolled back).
    """
    summary = account_summary(account, now_ms, ttl_ms)
    summary["recent_transactions"] = [log_entry(e) for e in account.recent]
    return summary


def log_entry(doc: Mapping) -> dict:
    """A log entry for the API: field names as in the XML log, money as dollars."""
    names = {
        "type": "type",
        "ts": "timestamp",
        "server": "server",
        "txn": "transactionNum",
        "command": "command",
        "user": "username",
        "symbol": "stockSymbol",
        "filename": "filename",
        "funds": "funds",
        "price": "price",
        "action": "action",
        "message": "errorMessage",
    }
    return money_fields({names[k]: v for k, v in doc.items() if k in names})


#: Fields of coin orders and holdings, by unit: cents, prices (1/10,000 $) and coins.
COIN_CENTS_KEYS = {"cost", "fee", "total", "cash", "proceeds", "net", "realised", "value"}
COIN_CENTS_KEYS |= {"unrealised", "cents"}
COIN_PRICE_KEYS = {"price"}
COIN_UNITS_KEYS = {"units", "available", "locked", "amount"}


def coin_fields(data: Mapping) -> dict:
    """Copy ``data`` with cents as dollars (2 decimals), prices as dollars (4 decimals)
    and coin units as coins (8 decimals); ``units`` is shown as ``amount``."""
    shown = {}
    for key, value in data.items():
        if key == "units":
            key = "amount"
        if not isinstance(value, int) or isinstance(value, bool):
            shown[key] = value
        elif key in COIN_UNITS_KEYS:
            shown[key] = format_units(value)
        elif key in COIN_PRICE_KEYS:
            shown[key] = format_price(value)
        elif key in COIN_CENTS_KEYS:
            shown[key] = format_cents(value)
        else:
            shown[key] = value
    return shown
