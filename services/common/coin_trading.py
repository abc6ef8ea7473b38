"""Use cases of coin orders for cash, and the context they work with.

The exchange service routes them, and the automatic traders (stop orders, the
volatility breakout) run the same ones, so they live in ``common``. Each takes a
``CoinTrading`` context: the unit of work that runs the order (the ledger, or one
account's session), the market's prices and the fee; nothing here knows about HTTP.

An order reads the price first (a feed that is down fails it with a 503 before anything
is touched), then the pure rule of ``domain/exchange.py`` runs under the user's lock in
the ledger's unit of work, which stores the account, the accountTransactions of the
cash and the wallet-ledger entry of the coins in one write.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .domain import exchange
from .ledger import Command, CommandRunner
from .market import MarketPrices
from .presenters import coin_fields
from .repositories import WalletLedgerRepository

BUY_COIN = "COIN_BUY"
SELL_COIN = "COIN_SELL"


@dataclass(frozen=True)
class CoinTrading:
    """What a coin use case works with: ``ledger`` runs commands against accounts (the
    ledger itself, or one account's session: ``within``); ``market`` gives prices;
    ``wallet_ledger`` the coin movements; ``fee_bp`` the fee of an order."""

    ledger: CommandRunner
    market: MarketPrices
    wallet_ledger: WalletLedgerRepository
    fee_bp: int

    def within(self, session: CommandRunner) -> CoinTrading:
        return replace(self, ledger=session)


def buy_coin(trading: CoinTrading, command: Command) -> dict:
    """Market buy of ``command.units`` of ``command.symbol`` for cash, at the feed's price.

    Errors: UnknownCoin (400), OrderTooSmall (400), NotFound (404), InsufficientFunds
    (409), UpstreamUnavailable (503: the feed is down; nothing changed).
    """
    price = trading.market.price(command.symbol)
    change = trading.ledger.run(
        command,
        lambda account: exchange.buy_coin(
            account, command.symbol, command.units, price, trading.fee_bp, str(command.txn)
        ),
    )
    return coin_fields(change.result)


def sell_coin(trading: CoinTrading, command: Command) -> dict:
    """Market sell of ``command.units`` of ``command.symbol`` for cash, at the feed's price.

    Errors: UnknownCoin (400), OrderTooSmall (400), NotFound (404), InsufficientAssets
    (409), UpstreamUnavailable (503: the feed is down; nothing changed).
    """
    price = trading.market.price(command.symbol)
    change = trading.ledger.run(
        command,
        lambda account: exchange.sell_coin(
            account, command.symbol, command.units, price, trading.fee_bp, str(command.txn)
        ),
    )
    return coin_fields(change.result)
