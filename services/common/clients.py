"""Clients for services outside this package: the (legacy-protocol) quote server."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from .domain.identifiers import SYMBOL
from .domain.money import parse_cents
from .errors import InvalidInput, UpstreamUnavailable


@dataclass(frozen=True)
class RawQuote:
    """A quote exactly as the quote server returned it (price in cents)."""

    price: int
    symbol: str
    user: str
    server_time_ms: int
    cryptokey: str


def parse_quote_line(line: str, symbol: str) -> RawQuote:
    """Parse ``price,SYM,user,timestamp_ms,cryptokey``; raise UpstreamUnavailable if bad."""
    parts = [p.strip() for p in line.strip().split(",")]
    if len(parts) != 5:
        raise UpstreamUnavailable(f"quote server sent a malformed reply for {symbol}")
    price_text, sym, user, ts_text, key = parts
    if user == "NA":
        raise UpstreamUnavailable(f"quote server refused the request for {symbol}")
    try:
        price = parse_cents(price_text, "price")
        server_time = int(ts_text)
    except (InvalidInput, ValueError) as exc:
        raise UpstreamUnavailable(f"quote server sent a malformed reply for {symbol}") from exc
    if sym != symbol or not SYMBOL.fullmatch(sym):
        raise UpstreamUnavailable(f"quote server answered for {sym!r}, not {symbol}")
    return RawQuote(price, sym, user, server_time, key)


class QuoteServerClient:
    """Talks to the quote server's TCP line protocol: ``SYM,user\\n`` -> one reply line."""

    def __init__(self, addr: str, timeout_s: float):
        host, _, port = addr.rpartition(":")
        self._addr = (host or "127.0.0.1", int(port))
        self._timeout = timeout_s

    def fetch(self, symbol: str, user: str) -> RawQuote:
        """One real (billed) quote. Raises UpstreamUnavailable on any failure."""
        try:
            with socket.create_connection(self._addr, timeout=self._timeout) as conn:
                conn.sendall(f"{symbol},{user}\n".encode("ascii"))
                reply = conn.makefile("r", encoding="ascii", newline="\n").readline()
        except OSError as exc:
            raise UpstreamUnavailable(f"quote server unavailable: {exc}") from exc
        return parse_quote_line(reply, symbol)
