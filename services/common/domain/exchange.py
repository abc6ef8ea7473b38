"""Coin trading for cash at the market price: pure rules and valuation.

Prices are integers in ten-thousandths of a dollar (``money.PRICE_SCALE``), amounts are
units (10^-8 of a coin), cash is cents. For ``units`` at ``price`` the exact value is
``units x price / 10^10`` cents; then:

- a buy costs that value rounded **up** to the cent, plus a fee of ``fee_bp`` basis
  points of the exact value, rounded **up**;
- a sell pays that value rounded **down** to the cent, less the same fee (rounded up);
- an order worth less than a cent is refused (``OrderTooSmall``), as is a buy whose cost
  plus fee is more than the cash (``InsufficientFunds``) and a sell of more than the
  available coins (``InsufficientAssets``); nothing changes then.

Cash moves are ``CashMove``s (accountTransactions in the audit log: the cost and the fee
of a buy each a ``remove``; the proceeds of a sell an ``add`` and its fee a ``remove``),
coin moves ``AssetMove``s between the user and the ``EXCHANGE`` (the wallet ledger).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from ..errors import InsufficientFunds, OrderTooSmall
from . import assets
from .account import ADD, REMOVE, Account, CashMove, Change, paid_with_fee
from .money import (
    fee_cents_up,
    format_cents,
    format_price,
    format_units,
    value_cents_down,
    value_cents_up,
)


def _order_detail(price: int, cents: int, fee: int) -> dict:
    return {"price": price, "cents": cents, "fee": fee}


def _check_value(coin: str, units: int, price: int) -> None:
    if value_cents_down(units, price) == 0:
        raise OrderTooSmall(
            f"{format_units(units)} {coin} at {format_price(price)} is worth less than a cent"
        )


def buy_coin(account: Account, coin: str, units: int, price: int, fee_bp: int, ref: str) -> Change:
    """Buy ``units`` of ``coin`` at ``price`` for cash: cost (up) + fee (up) leave cash,
    the coins join available, and their cost basis grows by cost + fee."""
    _check_value(coin, units, price)
    cost = value_cents_up(units, price)
    fee = fee_cents_up(units, price, fee_bp)
    total = cost + fee
    if account.cash < total:
        raise InsufficientFunds(
            f"insufficient funds: cash {format_cents(account.cash)} < cost "
            f"{format_cents(cost)} + fee {format_cents(fee)}"
        )
    balance, move = assets.credit(
        account.user,
        account.asset(coin),
        coin,
        units,
        assets.EXCHANGE,
        assets.BUY,
        ref,
        cost_cents=total,
        detail=_order_detail(price, cost, fee),
    )
    updated = replace(
        account,
        cash=account.cash - total,
        assets=assets.with_balance(account.assets, coin, balance),
    )
    moves = paid_with_fee(CashMove(REMOVE, cost), fee)
    return Change(
        updated,
        moves,
        movements=(move,),
        result={
            "side": "buy",
            "coin": coin,
            "units": units,
            "price": price,
            "cost": cost,
            "fee": fee,
            "total": total,
            "cash": updated.cash,
            "available": balance.available,
        },
    )


def sell_coin(account: Account, coin: str, units: int, price: int, fee_bp: int, ref: str) -> Change:
    """Sell ``units`` of ``coin`` at ``price`` for cash: proceeds (down) less fee (up)
    join cash, the coins leave available with their share of the cost basis."""
    _check_value(coin, units, price)
    proceeds = value_cents_down(units, price)
    fee = fee_cents_up(units, price, fee_bp)
    net = proceeds - fee
    if net < 0:
        raise OrderTooSmall(
            f"the fee {format_cents(fee)} is more than the proceeds {format_cents(proceeds)}"
        )
    held = account.asset(coin)
    realised = net - assets.cost_share(held, units) if held.available >= units else 0
    balance, move = assets.debit(
        account.user,
        held,
        coin,
        units,
        assets.EXCHANGE,
        assets.SELL,
        ref,
        realised_cents=realised,
        detail=_order_detail(price, proceeds, fee),
    )
    updated = replace(
        account,
        cash=account.cash + net,
        assets=assets.with_balance(account.assets, coin, balance),
    )
    moves = paid_with_fee(CashMove(ADD, proceeds), fee)
    return Change(
        updated,
        moves,
        movements=(move,),
        result={
            "side": "sell",
            "coin": coin,
            "units": units,
            "price": price,
            "proceeds": proceeds,
            "fee": fee,
            "net": net,
            "realised": realised,
            "cash": updated.cash,
            "available": balance.available,
        },
    )


def valuation(holdings: Mapping[str, assets.AssetBalance], prices: Mapping[str, int]) -> list:
    """Each holding valued at its price (cents, rounded down) with its profit or loss
    against its cost basis; a coin without a price is listed with ``value`` None."""
    rows = []
    for coin, balance in sorted(holdings.items()):
        price = prices.get(coin)
        value = value_cents_down(balance.total, price) if price is not None else None
        rows.append(
            {
                "coin": coin,
                "available": balance.available,
                "locked": balance.locked,
                "price": price,
                "value": value,
                "cost": balance.cost_cents,
                "unrealised": None if value is None else value - balance.cost_cents,
                "realised": balance.realised_cents,
            }
        )
    return rows
