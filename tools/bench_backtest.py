"""Time a 365-day x 9-k volatility-breakout backtest (``k`` = "auto") on the mock market.

The candles come from the market model itself (``market_feed/model.py``, seed 1), so no
server is needed: what is timed is the backtest (``services/common/domain/backtest.py``).

    .venv/bin/python -m tools.bench_backtest --runs 20
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from decimal import Decimal

from market_feed.model import ANCHOR_DAY, Market
from services.common.domain.backtest import Candle, best_k


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--coin", default="BTC")
    args = parser.parse_args(argv)
    market = Market(1)
    days = [market.day(args.coin, ANCHOR_DAY + i) for i in range(args.days)]
    candles = [Candle(d.day, d.open, d.high, d.low, d.close) for d in days]
    seconds = []
    for _ in range(args.runs):
        started = time.perf_counter()
        best, tried = best_k(candles, Decimal("0.0025"))
        seconds.append(time.perf_counter() - started)
    sys.stdout.write(
        f"{args.days} days x {len(tried)} k, {args.runs} runs: median "
        f"{statistics.median(seconds) * 1000:.1f} ms, max {max(seconds) * 1000:.1f} ms "
        f"(best k {float(best.k):.1f}, return {float(best.total_return):.4f})\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
