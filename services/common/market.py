"""The market feed as the platform reads it: the board of tickers and coin prices.

The feed (``market_feed/``, or any server speaking Bithumb's public API v1 in USD) is at
``MARKET_FEED_URL``. ``MarketPrices.board()`` answers every coin's ticker, fetched with
one request (``/public/ticker/ALL_USD``) and shared for ``MARKET_PRICE_MAX_AGE_S``: in
the process's memory, and in Redis (``market:board``) for every other process. A coin
order therefore pays for a feed request at most once per interval per platform, and
never trades at a price older than that. A feed that is down or answers nonsense is
``UpstreamUnavailable`` (503): nothing has changed by then.

Prices are integers in ten-thousandths of a dollar (``money.PRICE_SCALE``); volumes in
units of 10^-8 coin.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass

import redis
import requests
from redis.exceptions import RedisError

from .errors import InvalidInput, UpstreamUnavailable
from .timing import phase

BOARD_KEY = "market:board"
CURRENCY = "USD"
#: Coin names for the board (the feed's v1 API has symbols only).
COIN_NAMES = {
    "BTC": "Bitcoin",
    "ETH": "Ethereum",
    "DTC": "DayTrading Coin",
    "BNB": "BNB",
    "SOL": "Solana",
    "XRP": "XRP",
    "ADA": "Cardano",
    "DOGE": "Dogecoin",
    "TRX": "TRON",
    "DOT": "Polkadot",
    "LINK": "Chainlink",
    "MATIC": "Polygon",
    "LTC": "Litecoin",
    "BCH": "Bitcoin Cash",
    "AVAX": "Avalanche",
    "XLM": "Stellar",
    "ATOM": "Cosmos",
    "ETC": "Ethereum Classic",
    "UNI": "Uniswap",
    "FIL": "Filecoin",
}
_DECIMAL = re.compile(r"(-?)([0-9]{1,15})(?:\.([0-9]{1,8}))?")


class UnknownCoin(InvalidInput):
    """A coin the market feed does not list."""

    code = "unknown_coin"


def parse_scaled(text: object, decimals: int) -> int:
    """A decimal string from the feed as an integer with ``decimals`` decimals;
    more decimals than that are cut (the feed sends prices with 4, volumes with 8)."""
    match = _DECIMAL.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise UpstreamUnavailable(f"the market feed sent a malformed number: {text!r}")
    sign, whole, frac = match.groups()
    value = int(whole) * 10**decimals + int((frac or "")[:decimals].ljust(decimals, "0"))
    return -value if sign else value


@dataclass(frozen=True)
class Ticker:
    """One coin's line of the board: since 00:00 UTC and over the last 24 hours."""

    coin: str
    open: int  # price units
    high: int
    low: int
    close: int  # the price now
    prev_close: int
    volume: int  # units, since 00:00
    value: int  # price units, since 00:00
    volume_24h: int
    value_24h: int
    change_24h: int  # price units
    change_rate_24h: str  # percent, as the feed sent it ("-2.45")

    @classmethod
    def from_feed(cls, coin: str, fields: Mapping) -> Ticker:
        try:
            return cls(
                coin=coin,
                open=parse_scaled(fields["opening_price"], 4),
                high=parse_scaled(fields["max_price"], 4),
                low=parse_scaled(fields["min_price"], 4),
                close=parse_scaled(fields["closing_price"], 4),
                prev_close=parse_scaled(fields["prev_closing_price"], 4),
                volume=parse_scaled(fields["units_traded"], 8),
                value=parse_scaled(fields["acc_trade_value"], 4),
                volume_24h=parse_scaled(fields["units_traded_24H"], 8),
                value_24h=parse_scaled(fields["acc_trade_value_24H"], 4),
                change_24h=parse_scaled(fields["fluctate_24H"], 4),
                change_rate_24h=str(fields["fluctate_rate_24H"]),
            )
        except (KeyError, TypeError) as exc:
            message = f"the market feed sent a malformed ticker for {coin}"
            raise UpstreamUnavailable(message) from exc


@dataclass(frozen=True)
class Board:
    """Every coin's ticker at one moment of the feed (``as_of_ms``), and when the platform
    fetched it (``fetched_ms``)."""

    tickers: Mapping[str, Ticker]
    as_of_ms: int
    fetched_ms: int

    def ticker(self, coin: str) -> Ticker:
        """``coin``'s ticker; UnknownCoin (400) when the feed does not list it."""
        found = self.tickers.get(coin)
        if found is None:
            raise UnknownCoin(f"unknown coin {coin}: the market lists {', '.join(self.tickers)}")
        return found

    def prices(self) -> dict[str, int]:
        return {coin: t.close for coin, t in self.tickers.items()}

    def top(self, count: int = 20) -> list[Ticker]:
        """The ``count`` coins with the most traded value over 24 hours, most first."""
        return sorted(self.tickers.values(), key=lambda t: (-t.value_24h, t.coin))[:count]

    def to_json(self) -> str:
        return json.dumps(
            {
                "as_of_ms": self.as_of_ms,
                "fetched_ms": self.fetched_ms,
                "tickers": [asdict(t) for t in self.tickers.values()],
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: bytes | str) -> Board:
        data = json.loads(text)
        tickers = {t["coin"]: Ticker(**t) for t in data["tickers"]}
        return cls(tickers, data["as_of_ms"], data["fetched_ms"])


def board_from_feed(payload: object, fetched_ms: int) -> Board:
    """Read ``/public/ticker/ALL_USD``'s answer; UpstreamUnavailable if it is not one."""
    if not isinstance(payload, dict) or payload.get("status") != "0000":
        raise UpstreamUnavailable("the market feed refused the ticker request")
    data = payload.get("data")
    if not isinstance(data, dict):
        raise UpstreamUnavailable("the market feed sent no tickers")
    as_of = data.get("date")
    tickers = {
        coin: Ticker.from_feed(coin, fields)
        for coin, fields in data.items()
        if isinstance(fields, dict)
    }
    if not tickers:
        raise UpstreamUnavailable("the market feed sent no tickers")
    return Board(tickers, int(as_of) if str(as_of).isdigit() else fetched_ms, fetched_ms)


class MarketFeedClient:
    """HTTP GETs to the feed, with a timeout; every failure is UpstreamUnavailable."""

    def __init__(self, base_url: str, timeout_s: float):
        self._base_url = base_url.rstrip("/")
        self._timeout_s = timeout_s
        self._local = threading.local()  # a requests.Session per thread

    def get(self, path: str, params: Mapping | None = None) -> dict:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.trust_env = False  # never send loopback traffic through a proxy
        try:
            response = session.get(self._base_url + path, params=params, timeout=self._timeout_s)
            payload = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise UpstreamUnavailable(f"the market feed is unavailable: {exc}") from exc
        if not isinstance(payload, dict):
            raise UpstreamUnavailable("the market feed sent a malformed answer")
        return payload

    def candles(self, coin: str, interval: str) -> list[list]:
        """``[time_ms, open, close, high, low, volume]`` rows of ``coin``, oldest first."""
        payload = self.get(f"/public/candlestick/{coin}_{CURRENCY}/{interval}")
        rows = payload.get("data")
        if payload.get("status") != "0000" or not isinstance(rows, list):
            raise UpstreamUnavailable(f"the market feed has no {interval} candles of {coin}")
        return rows


class MarketPrices:
    """The board, at most ``max_age_s`` old: from memory, Redis, else the feed."""

    def __init__(
        self,
        client: redis.Redis,
        feed: MarketFeedClient,
        max_age_s: float,
        clock_ms: Callable[[], int],
    ):
        self._redis = client
        self.feed = feed
        self._max_age_ms = int(max_age_s * 1000)
        self._clock_ms = clock_ms
        self._seen: Board | None = None
        self._fetching = threading.Lock()  # one fetch per process at a time

    def board(self) -> Board:
        seen = self._seen
        if seen is not None and self._fresh(seen):
            return seen
        with phase("quote"), self._fetching:
            seen = self._seen
            if seen is not None and self._fresh(seen):
                return seen
            board = self._shared() or self._fetch()
            self._seen = board
            return board

    def price(self, coin: str) -> int:
        """``coin``'s price now. UnknownCoin (400), UpstreamUnavailable (503)."""
        return self.board().ticker(coin).close

    def _fresh(self, board: Board) -> bool:
        return 0 <= self._clock_ms() - board.fetched_ms < self._max_age_ms

    def _shared(self) -> Board | None:
        try:
            cached = self._redis.get(BOARD_KEY)
        except RedisError:
            return None  # the feed itself can still answer
        if cached is None:
            return None
        board = Board.from_json(cached)
        return board if self._fresh(board) else None

    def _fetch(self) -> Board:
        board = board_from_feed(self.feed.get(f"/public/ticker/ALL_{CURRENCY}"), self._clock_ms())
        try:
            self._redis.set(BOARD_KEY, board.to_json(), px=max(1, self._max_age_ms))
        except RedisError:
            pass  # only a cache
        return board
