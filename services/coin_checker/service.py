"""One pass of the coin checker: every margin position and stop order at the board's price.

A position whose margin level is at or below 1.1 is liquidated, one at or below 1.3 is
called (once); a stop order that the price reaches fires (a trailing one follows the
price first). Each runs as a system rule under the user's lock (``Ledger.run_system``)
that checks the level again on the account as stored, so a position the user closed
meanwhile is left alone, and a liquidation is stored in the same single write as its
cash and coin movements: a checker killed at any moment has either liquidated a
position (and the position is gone) or not, and the next pass finds what is left.
"""

from __future__ import annotations

import logging
from collections import Counter

from ..common.cache import CoinWatch
from ..common.coin_trading import CoinTrading
from ..common.domain import breakout, margin, stops
from ..common.repositories import AccountRepository

log = logging.getLogger("services.coin_checker")


def check_coins(trading: CoinTrading, accounts: AccountRepository, watch: CoinWatch) -> Counter:
    """Call, liquidate and fire what is due at the prices now; counts by outcome.

    What to look at comes from the coin watch in Redis (one read), rebuilt from the
    database when it is missing or due."""
    board = trading.market.board()
    prices = board.prices()
    now = trading.clock_ms()
    market_now = board.as_of_ms  # the feed's time: what the breakout's periods follow
    ppm = trading.interest_ppm
    outcomes: Counter = Counter()
    view = watch.view()
    if view is None:
        watch.rebuild(accounts.watched_stored())
        view = watch.view() or {}
    for user, watched in sorted(view.items()):
        account = accounts.watched_from(user, watched)
        for coin, position in account.positions.items():
            price = prices.get(coin)
            if price is None:
                continue
            liquidate = position.level_at_or_below(margin.LIQUIDATION_LEVEL_TENTHS, price, now, ppm)
            call = not position.called and position.level_at_or_below(
                margin.CALL_LEVEL_TENTHS, price, now, ppm
            )
            if not (liquidate or call):
                outcomes["ok"] += 1
                continue
            change = trading.ledger.run_system(
                account.user,
                lambda stored, coin=coin, price=price: margin.liquidate_if_due(
                    stored, coin, price, trading.fee_bp, now, ppm
                ),
            )
            outcome = change.result.get("reason", "unchanged")
            outcomes[outcome] += 1
            if outcome == margin.LIQUIDATION:
                log.info(
                    "liquidated %s's %s %s at %d: returned %d, shortfall %d",
                    account.user,
                    coin,
                    position.side,
                    price,
                    change.result["returned"],
                    change.result["shortfall"],
                )
        for stop_id, stop in account.stops.items():
            price = prices.get(stop.coin)
            if price is None or not (stop.due(price) or stop.followed(price) != stop):
                outcomes["waiting"] += 1
                continue
            change = trading.ledger.run_system(
                account.user,
                lambda stored, stop_id=stop_id, price=price: stops.fire_if_due(
                    stored, stop_id, price, trading.fee_bp, now, ppm
                ),
            )
            outcomes[change.result.get("reason", "unchanged")] += 1
        for coin in account.strategies:
            price = prices.get(coin)
            if price is None:
                continue
            if not breakout.wants(account.strategies[coin], price, market_now):
                outcomes["waiting"] += 1  # nothing moves: no lock, no write
                continue
            change = trading.ledger.run_system(
                account.user,
                lambda stored, coin=coin, price=price: breakout.observe(
                    stored, coin, price, market_now, trading.fee_bp
                ),
            )
            outcomes[change.result.get("reason", "unchanged")] += 1
    return outcomes
