"""The mock market: seeded, deterministic price paths of the top 20 coins.

Nothing here does I/O or reads the clock: every function takes ``now_ms``, so the same
seed and time always give the same prices, candles and order book.

Integers inside: prices in ten-thousandths of a dollar (``PRICE_SCALE``), volumes in
units of 10^-8 coin, traded values in ten-thousandths of a dollar.

How a path is made, per coin:

- **days**: a seeded walk of daily closes from ``ANCHOR_DAY`` (2024-01-01 UTC), each
  day's open being the last close; each day also draws its high and low (beyond the
  open and close) and the minutes at which they are reached, and its traded volume;
- **minutes**: within a day, the price runs through open -> high/low (in the drawn
  order) -> close along straight lines, plus seeded noise kept inside [low, high], so
  the day's highest minute is its high and its lowest its low;
- **now**: between two minute points the price moves along the line, so a ticker read
  every second moves.

Candles of any interval aggregate the minute points (a 24 h candle of a past day is the
day itself), and each minute's volume is its day's volume over the minutes of the day.
"""

from __future__ import annotations

import hashlib
import random
from collections import OrderedDict
from dataclasses import dataclass

PRICE_SCALE = 10_000  # price units per dollar
UNITS_PER_COIN = 100_000_000
DAY_MS = 86_400_000
MINUTE_MS = 60_000
MINUTES_PER_DAY = 1_440
ANCHOR_DAY = 19_723  # 2024-01-01 UTC, in days since the Unix epoch: the first candle

#: The top 20: symbol -> (start price in dollars x 10^4, daily volatility in basis
#: points, typical daily volume in coins). DTC is the platform's own coin.
COINS: dict[str, tuple[int, int, int]] = {
    "BTC": (42_000_0000, 300, 20_000),
    "ETH": (2_300_0000, 400, 300_000),
    "DTC": (2_5000, 700, 5_000_000),
    "BNB": (310_0000, 400, 600_000),
    "SOL": (100_0000, 600, 2_000_000),
    "XRP": (6000, 500, 800_000_000),
    "ADA": (5000, 500, 600_000_000),
    "DOGE": (900, 600, 3_000_000_000),
    "TRX": (1100, 400, 2_000_000_000),
    "DOT": (8_0000, 500, 20_000_000),
    "LINK": (15_0000, 500, 15_000_000),
    "MATIC": (8000, 500, 300_000_000),
    "LTC": (70_0000, 400, 3_000_000),
    "BCH": (250_0000, 450, 700_000),
    "AVAX": (35_0000, 600, 8_000_000),
    "XLM": (1200, 450, 500_000_000),
    "ATOM": (10_0000, 500, 10_000_000),
    "ETC": (20_0000, 500, 9_000_000),
    "UNI": (6_0000, 550, 12_000_000),
    "FIL": (5_0000, 550, 20_000_000),
}
INTERVALS_MIN = {"1m": 1, "1h": 60, "24h": MINUTES_PER_DAY}
#: How many candles of each interval a request gets (24 h: every day since the anchor).
CANDLES = {"1m": 1_440, "1h": 720}
NOISE_BP = 15  # minute noise: at most 0.15 % of the price
BOOK_STEP_BP = 5  # order book levels 0.05 % apart
MAX_BOOK_LEVELS = 30
DAY_CACHE = 512  # (coin, day) minute paths kept


def derived_seed(seed: int, label: str) -> int:
    """A seed for one stream of draws (hashlib: str hashes are salted per process)."""
    digest = hashlib.sha256(f"{seed}:{label}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def step(price: int, basis_points: int) -> int:
    """``price`` moved by ``basis_points`` / 100 %, rounded half away from zero, >= 1."""
    change = (abs(price * basis_points) + 5_000) // 10_000
    return max(1, price + change if basis_points >= 0 else price - change)


@dataclass(frozen=True)
class Day:
    """One day of one coin: its candle and where in the day the high and low fall."""

    day: int
    open: int
    high: int
    low: int
    close: int
    volume: int  # units
    high_minute: int
    low_minute: int


@dataclass(frozen=True)
class Stats:
    """Open, high, low, close, volume (units) and traded value over a span."""

    open: int
    high: int
    low: int
    close: int
    volume: int
    value: int  # ten-thousandths of a dollar


@dataclass(frozen=True)
class Ticker:
    """A coin's board line now: since midnight UTC and over the last 24 hours."""

    coin: str
    now_ms: int
    today: Stats
    prev_close: int
    last_24h: Stats
    change_24h: int  # price now minus 24 h ago

    @property
    def price(self) -> int:
        return self.today.close

    @property
    def change_rate_bp(self) -> int:
        """The 24-hour change in hundredths of a percent (basis points), rounded half
        away from zero."""
        base = self.last_24h.open
        return _div_round(self.change_24h * 10_000, base)


def _div_round(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half away from zero."""
    quotient = (abs(numerator) * 2 + denominator) // (2 * denominator)
    return quotient if numerator >= 0 else -quotient


class Market:
    """Every coin's path for one seed; minute paths computed on demand and cached."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._days: dict[str, list[Day]] = {coin: [] for coin in COINS}
        self._walks = {coin: random.Random(derived_seed(seed, f"daily:{coin}")) for coin in COINS}
        self._minutes: OrderedDict[tuple[str, int], tuple[list[int], ...]] = OrderedDict()

    @staticmethod
    def coins() -> list[str]:
        return list(COINS)

    # --- days ------------------------------------------------------------------------

    def day(self, coin: str, day: int) -> Day:
        """The candle of ``coin`` on ``day`` (days since the epoch, >= ANCHOR_DAY)."""
        if day < ANCHOR_DAY:
            raise ValueError(f"the market starts on day {ANCHOR_DAY}")
        days = self._days[coin]
        start, volatility, volume = COINS[coin]
        while len(days) <= day - ANCHOR_DAY:
            opening = days[-1].close if days else start
            closing = step(opening, self._walks[coin].randint(-volatility, volatility))
            index = ANCHOR_DAY + len(days)
            draws = random.Random(derived_seed(self.seed, f"day:{coin}:{index}"))
            high = step(max(opening, closing), draws.randint(0, volatility // 2))
            low = step(min(opening, closing), -draws.randint(0, volatility // 2))
            high_minute, low_minute = draws.sample(range(1, MINUTES_PER_DAY), 2)
            units = volume * UNITS_PER_COIN * draws.randint(50, 150) // 100
            days.append(Day(index, opening, high, low, closing, units, high_minute, low_minute))
        return days[day - ANCHOR_DAY]

    # --- minutes ---------------------------------------------------------------------

    def _day_minutes(self, coin: str, day: int) -> tuple[list[int], list[int], list[int]]:
        """The day's 1,440 minute points (price at the start of each minute), minute
        volumes (units) and values (units x price); the point after the last is the
        day's close."""
        key = (coin, day)
        cached = self._minutes.get(key)
        if cached is not None:
            self._minutes.move_to_end(key)
            return cached
        candle = self.day(coin, day)
        knots = sorted(
            [
                (0, candle.open),
                (candle.high_minute, candle.high),
                (candle.low_minute, candle.low),
                (MINUTES_PER_DAY, candle.close),
            ]
        )
        draws = random.Random(derived_seed(self.seed, f"minutes:{coin}:{day}"))
        points = []
        for (m0, p0), (m1, p1) in zip(knots, knots[1:], strict=False):
            for minute in range(m0, m1):
                line = p0 + (p1 - p0) * (minute - m0) // (m1 - m0)
                if minute == m0:
                    points.append(line)  # the knots themselves carry no noise
                    continue
                amplitude = max(1, line * NOISE_BP // 10_000)
                noisy = line + draws.randint(-amplitude, amplitude)
                points.append(min(candle.high, max(candle.low, noisy)))
        weights = [draws.randint(50, 150) for _ in range(MINUTES_PER_DAY)]
        total = sum(weights)
        volumes = [candle.volume * w // total for w in weights]
        volumes[-1] += candle.volume - sum(volumes)  # the minutes add up to the day
        values = [units * point for units, point in zip(volumes, points, strict=True)]
        self._minutes[key] = day_minutes = (points, volumes, values)
        if len(self._minutes) > DAY_CACHE:
            self._minutes.popitem(last=False)
        return day_minutes

    def point(self, coin: str, minute: int) -> int:
        """The price at the start of absolute minute ``minute`` (since the epoch)."""
        day, index = divmod(minute, MINUTES_PER_DAY)
        return self._day_minutes(coin, day)[0][index]

    def minute_volume(self, coin: str, minute: int) -> int:
        day, index = divmod(minute, MINUTES_PER_DAY)
        return self._day_minutes(coin, day)[1][index]

    def price(self, coin: str, now_ms: int) -> int:
        """The price at ``now_ms``: along the line between two minute points."""
        minute, into = divmod(now_ms, MINUTE_MS)
        start, end = self.point(coin, minute), self.point(coin, minute + 1)
        return start + (end - start) * into // MINUTE_MS

    # --- spans, tickers, candles -------------------------------------------------------

    def stats(self, coin: str, start_ms: int, now_ms: int) -> Stats:
        """OHLC, volume and value from ``start_ms`` to ``now_ms``, over the minute points
        in between and the prices at both ends; volume counts the minutes begun."""
        first = -(-start_ms // MINUTE_MS)  # the first minute point inside the span
        last = now_ms // MINUTE_MS
        opening, closing = self.price(coin, start_ms), self.price(coin, now_ms)
        high, low = max(opening, closing), min(opening, closing)
        volume = value = 0
        minute = start_ms // MINUTE_MS
        while minute < last:  # one day's slice at a time: builtins over lists, no loop
            day, index = divmod(minute, MINUTES_PER_DAY)
            end = min(MINUTES_PER_DAY, index + last - minute)
            points, volumes, values = self._day_minutes(coin, day)
            inside = points[max(index, first - day * MINUTES_PER_DAY) : end]
            if inside:
                high, low = max(high, max(inside)), min(low, min(inside))
            volume += sum(volumes[index:end])
            value += sum(values[index:end])
            minute += end - index
        return Stats(opening, high, low, closing, volume, value // UNITS_PER_COIN)

    def ticker(self, coin: str, now_ms: int) -> Ticker:
        midnight = now_ms - now_ms % DAY_MS
        day_before = max(now_ms - DAY_MS, ANCHOR_DAY * DAY_MS)
        last_24h = self.stats(coin, day_before, now_ms)
        return Ticker(
            coin=coin,
            now_ms=now_ms,
            today=self.stats(coin, midnight, now_ms),
            prev_close=self.day(coin, max(midnight // DAY_MS - 1, ANCHOR_DAY)).close,
            last_24h=last_24h,
            change_24h=last_24h.close - last_24h.open,
        )

    def candles(self, coin: str, interval: str, now_ms: int) -> list[tuple[int, Stats]]:
        """(start ms, stats) of the newest candles of ``interval`` (1m, 1h, 24h), oldest
        first; the last is the one still open."""
        if interval == "24h":
            today = now_ms // DAY_MS
            rows = []
            for day in range(ANCHOR_DAY, today):
                d = self.day(coin, day)
                value = d.volume * (d.open + d.close) // 2 // UNITS_PER_COIN
                rows.append((day * DAY_MS, Stats(d.open, d.high, d.low, d.close, d.volume, value)))
            rows.append((today * DAY_MS, self.stats(coin, today * DAY_MS, now_ms)))
            return rows
        span = INTERVALS_MIN[interval] * MINUTE_MS
        current = now_ms - now_ms % span
        earliest = max(current - (CANDLES[interval] - 1) * span, ANCHOR_DAY * DAY_MS)
        rows = [
            (start, self.stats(coin, start, start + span))
            for start in range(earliest, current, span)
        ]
        rows.append((current, self.stats(coin, current, now_ms)))
        return rows

    def orderbook(self, coin: str, now_ms: int, levels: int) -> tuple[list, list]:
        """(bids, asks): ``levels`` of (price, units) each side of the price now, best
        first; the quantities change every second."""
        price = self.price(coin, now_ms)
        gap = max(1, price * BOOK_STEP_BP // 10_000)
        draws = random.Random(derived_seed(self.seed, f"book:{coin}:{now_ms // 1000}"))
        typical = COINS[coin][2] * UNITS_PER_COIN // MINUTES_PER_DAY
        bids, asks = [], []
        for level in range(1, levels + 1):
            bids.append((max(1, price - level * gap), typical * draws.randint(1, 100) // 100))
            asks.append((price + level * gap, typical * draws.randint(1, 100) // 100))
        return bids, asks
