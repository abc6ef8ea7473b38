"""Pure quote logic: request validation, seeded price walks, cryptokeys and latency.

Nothing here does I/O or reads the clock; callers pass timestamps in, so every rule
is unit-testable and deterministic for a given seed.
"""

from __future__ import annotations

import base64
import hashlib
import math
import random
import re
from dataclasses import dataclass

SYMBOL_RE = re.compile(r"[A-Z]{1,3}")
PRICE_RE = re.compile(r"\d{1,9}\.\d{2}")

MIN_PRICE_CENTS = 1
START_MIN_CENTS = 500  # $5.00
START_MAX_CENTS = 50_000  # $500.00
MAX_STEP_BP = 300  # one walk step moves the price by at most 3 % (basis points)

NA_USER = "NA"
NA_PRICE = "0.00"
ECHO_SYMBOL_LEN = 3  # a rejected symbol is echoed at most as wide as a valid one

# Measured course server (DistributedDesigns quotes.tex): 65.75 % of replies carry only
# network delay (min 7, median 9, mean 9.41, max 26 ms); the rest are exponential,
# capped near 4 s, and the overall expected value is 563.3 ms.
FAST_SHARE = 0.6575
FAST_MIN_S = 0.007
FAST_MAX_S = 0.026
# A gamma(shape 2) excess over the 7 ms floor matches both the median (~9.0 ms) and the
# mean (9.41 ms); a plain exponential would put the median at 8.7 ms.
FAST_SHAPE = 2.0
FAST_SCALE_S = (0.00941 - FAST_MIN_S) / FAST_SHAPE
FAST_MEAN_S = FAST_MIN_S + FAST_SHAPE * FAST_SCALE_S  # the 26 ms cap trims < 1e-5 of mass
SLOW_CAP_S = 4.0
TARGET_MEAN_S = 0.5633


class BadRequest(ValueError):
    """A quote request that the legacy server would answer with ``NA``."""


def parse_cents(text: str) -> int:
    """Parse ``d.dd`` dollars into integer cents; raise ValueError when malformed."""
    text = text.strip()
    if not PRICE_RE.fullmatch(text):
        raise ValueError(f"expected dollars with exactly two decimals like 12.34, got {text!r}")
    dollars, cents = text.split(".")
    return int(dollars) * 100 + int(cents)


def format_cents(cents: int) -> str:
    """Format integer cents as dollars with exactly two decimals (``1234`` -> ``12.34``)."""
    if cents < 0:
        raise ValueError("prices are never negative")
    return f"{cents // 100}.{cents % 100:02d}"


def validate_request(symbol: str, user: str) -> tuple[str, str]:
    """Trim and check one request; return ``(symbol, user)`` or raise BadRequest."""
    symbol, user = symbol.strip(), user.strip()
    if not SYMBOL_RE.fullmatch(symbol):
        raise BadRequest("symbol must be 1-3 letters A-Z")
    if not user:
        raise BadRequest("user must not be empty")
    # A comma or control character would break the one-line TCP reply format.
    if "," in user or any(ord(ch) < 32 or ord(ch) == 127 for ch in user):
        raise BadRequest("user must not contain commas or control characters")
    return symbol, user


def parse_request_line(line: str) -> tuple[str, str]:
    """Parse a legacy ``SYM,user`` line; return ``(symbol, user)`` or raise BadRequest."""
    fields = line.strip().split(",")
    if len(fields) != 2:
        raise BadRequest("expected exactly two comma-separated fields: SYM,user")
    return validate_request(fields[0], fields[1])


def echo_symbol(line: str) -> str:
    """Return the symbol as sent, made safe to put back into a reply line."""
    first = line.strip().split(",", 1)[0].strip()
    printable = "".join(ch for ch in first if 32 < ord(ch) < 127)
    return printable[:ECHO_SYMBOL_LEN]


def make_cryptokey(seed: int, price: str, symbol: str, user: str, timestamp_ms: int) -> str:
    """Return a 44-character base64 key binding the quote's fields, like the real server's."""
    material = f"{seed}|{price}|{symbol}|{user}|{timestamp_ms}".encode()
    return base64.b64encode(hashlib.sha256(material).digest()).decode("ascii")


def _derived_seed(seed: int, label: str) -> int:
    # hashlib, not hash(): str hashing is salted per process, which would break replay.
    digest = hashlib.sha256(f"{seed}:{label}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def step_price(cents: int, basis_points: int) -> int:
    """Move ``cents`` by ``basis_points`` / 100 percent, rounded half away from zero."""
    change = (abs(cents * basis_points) + 5_000) // 10_000
    moved = cents + change if basis_points >= 0 else cents - change
    return max(MIN_PRICE_CENTS, moved)


class _Walk:
    """One symbol's random walk: its own RNG, so symbols never disturb each other."""

    def __init__(self, seed: int, symbol: str) -> None:
        self.rng = random.Random(_derived_seed(seed, f"walk:{symbol}"))
        self.cents = self.rng.randint(START_MIN_CENTS, START_MAX_CENTS)

    def next_cents(self) -> int:
        served = self.cents
        self.cents = step_price(self.cents, self.rng.randint(-MAX_STEP_BP, MAX_STEP_BP))
        return served


class PriceBook:
    """Prices in integer cents per symbol: a seeded walk, or one fixed price for all."""

    def __init__(self, seed: int, fixed_price_cents: int | None = None) -> None:
        self.seed = seed
        self.fixed_price_cents = fixed_price_cents
        self._walks: dict[str, _Walk] = {}
        self._pinned: dict[str, int] = {}

    def pin(self, symbol: str, cents: int | None) -> None:
        """Serve ``cents`` for ``symbol`` from now on (None: its own price again)."""
        if cents is None:
            self._pinned.pop(symbol, None)
        else:
            self._pinned[symbol] = cents

    def next_price(self, symbol: str) -> int:
        """Return the price to serve for ``symbol`` now and advance its walk one step.

        The first quote of a symbol is its seeded start price ($5.00-$500.00); a pinned
        symbol's is its pinned price, ahead of the fixed price.
        """
        pinned = self._pinned.get(symbol)
        if pinned is not None:
            return pinned
        if self.fixed_price_cents is not None:
            return self.fixed_price_cents
        walk = self._walks.get(symbol)
        if walk is None:
            walk = self._walks[symbol] = _Walk(self.seed, symbol)
        return walk.next_cents()


@dataclass(frozen=True)
class Quote:
    """One served quote, ready to render for TCP or HTTP."""

    price_cents: int
    symbol: str
    user: str
    timestamp_ms: int
    cryptokey: str

    @property
    def price(self) -> str:
        return format_cents(self.price_cents)

    def to_line(self) -> str:
        """Render the legacy reply ``price,SYM,user,timestamp_ms,cryptokey\\n``."""
        return f"{self.price},{self.symbol},{self.user},{self.timestamp_ms},{self.cryptokey}\n"

    def to_json(self) -> dict[str, object]:
        """Render the HTTP reply body (price as a string, never a float)."""
        return {
            "price": self.price,
            "symbol": self.symbol,
            "user": self.user,
            "timestamp": self.timestamp_ms,
            "cryptokey": self.cryptokey,
        }


def make_quote(book: PriceBook, symbol: str, user: str, timestamp_ms: int) -> Quote:
    """Serve a quote for an already validated request, advancing the symbol's walk."""
    cents = book.next_price(symbol)
    key = make_cryptokey(book.seed, format_cents(cents), symbol, user, timestamp_ms)
    return Quote(cents, symbol, user, timestamp_ms, key)


def format_na_line(seed: int, raw_line: str, timestamp_ms: int) -> str:
    """Render the legacy answer to a bad request: ``0.00,<sym>,NA,<ts>,<key>\\n``."""
    symbol = echo_symbol(raw_line)
    key = make_cryptokey(seed, NA_PRICE, symbol, NA_USER, timestamp_ms)
    return f"{NA_PRICE},{symbol},{NA_USER},{timestamp_ms},{key}\n"


def capped_exponential_mean(mean_s: float, cap_s: float) -> float:
    """Return E[min(X, cap)] for X exponential with mean ``mean_s``."""
    return mean_s * (1.0 - math.exp(-cap_s / mean_s))


def solve_slow_mean(
    target_mean_s: float = TARGET_MEAN_S,
    fast_share: float = FAST_SHARE,
    fast_mean_s: float = FAST_MEAN_S,
    cap_s: float = SLOW_CAP_S,
) -> float:
    """Find the exponential mean whose capped mixture with fast replies hits the target.

    Solves ``p * fast + (1 - p) * m * (1 - exp(-cap / m)) = target`` for ``m`` by
    bisection; the left side grows monotonically in ``m`` towards ``cap``.
    """
    needed = (target_mean_s - fast_share * fast_mean_s) / (1.0 - fast_share)
    if not 0.0 < needed < cap_s:
        raise ValueError("target mean is unreachable with this cap and fast share")
    low, high = 1e-9, 1e6
    for _ in range(200):
        mid = (low + high) / 2
        if capped_exponential_mean(mid, cap_s) < needed:
            low = mid
        else:
            high = mid
    return (low + high) / 2


SLOW_MEAN_S = solve_slow_mean()  # about 1.834 s


def realistic_mean_s() -> float:
    """Return the analytic mean delay of the realistic mode (about 0.563 s)."""
    slow = capped_exponential_mean(SLOW_MEAN_S, SLOW_CAP_S)
    return FAST_SHARE * FAST_MEAN_S + (1.0 - FAST_SHARE) * slow


LATENCY_MODES = ("none", "realistic", "fixed")


@dataclass(frozen=True)
class Latency:
    """How long to hold each reply: ``none``, ``realistic`` or ``fixed`` ``ms``."""

    mode: str = "none"
    fixed_ms: int = 0

    def __post_init__(self) -> None:
        if self.mode not in LATENCY_MODES:
            raise ValueError(f"unknown latency mode {self.mode!r}")
        if self.fixed_ms < 0:
            raise ValueError("fixed latency must not be negative")

    def describe(self) -> str:
        return f"{self.fixed_ms}ms" if self.mode == "fixed" else self.mode


class LatencySampler:
    """Draw reply delays in seconds from an RNG seeded by the quote seed."""

    def __init__(self, latency: Latency, seed: int) -> None:
        self.latency = latency
        self.rng = random.Random(_derived_seed(seed, "latency"))

    def sample(self) -> float:
        """Return the next delay in seconds (0.0 when latency is off)."""
        if self.latency.mode == "none":
            return 0.0
        if self.latency.mode == "fixed":
            return self.latency.fixed_ms / 1000.0
        if self.rng.random() < FAST_SHARE:
            excess = self.rng.gammavariate(FAST_SHAPE, FAST_SCALE_S)
            return min(FAST_MAX_S, FAST_MIN_S + excess)
        return min(SLOW_CAP_S, self.rng.expovariate(1.0 / SLOW_MEAN_S))
