"""The audit log: entries as stored documents, and their XML form for DUMPLOG.

Entries are plain dicts with short keys (``type``, ``ts``, ``server``, ``txn``,
``command``, ``user``, ``symbol``, ``filename``, ``funds``, ``price``, ``qs_time``,
``cryptokey``, ``action``, ``message``). Money is stored in cents and rendered with two
decimals. The XML follows the course schema (docs: ``../shared/spec/log-format.md``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from xml.sax.saxutils import escape

from .domain.money import format_cents

USER_COMMAND = "userCommand"
QUOTE_SERVER = "quoteServer"
ACCOUNT_TRANSACTION = "accountTransaction"
SYSTEM_EVENT = "systemEvent"
ERROR_EVENT = "errorEvent"
ENTRY_TYPES = (USER_COMMAND, QUOTE_SERVER, ACCOUNT_TRANSACTION, SYSTEM_EVENT, ERROR_EVENT)

#: The commands the course schema knows (its ``commandType``). Only these are logged as
#: userCommand / errorEvent; the platform's other commands (coin orders) leave only the
#: accountTransactions of the cash they move, so the DUMPLOG stays valid.
COURSE_COMMANDS = frozenset(
    {
        "ADD",
        "QUOTE",
        "BUY",
        "COMMIT_BUY",
        "CANCEL_BUY",
        "SELL",
        "COMMIT_SELL",
        "CANCEL_SELL",
        "SET_BUY_AMOUNT",
        "CANCEL_SET_BUY",
        "SET_BUY_TRIGGER",
        "SET_SELL_AMOUNT",
        "SET_SELL_TRIGGER",
        "CANCEL_SET_SELL",
        "DUMPLOG",
        "DISPLAY_SUMMARY",
    }
)

# (document key, XML element, formatter), in the schema's order for each entry type.
_COMMON = (("ts", "timestamp", str), ("server", "server", str), ("txn", "transactionNum", str))
_COMMAND_FIELDS = (
    ("command", "command", str),
    ("user", "username", str),
    ("symbol", "stockSymbol", str),
    ("filename", "filename", str),
    ("funds", "funds", format_cents),
)
_FIELDS = {
    USER_COMMAND: _COMMON + _COMMAND_FIELDS,
    SYSTEM_EVENT: _COMMON + _COMMAND_FIELDS,
    ERROR_EVENT: _COMMON + _COMMAND_FIELDS + (("message", "errorMessage", str),),
    QUOTE_SERVER: _COMMON
    + (
        ("price", "price", format_cents),
        ("symbol", "stockSymbol", str),
        ("user", "username", str),
        ("qs_time", "quoteServerTime", str),
        ("cryptokey", "cryptokey", str),
    ),
    ACCOUNT_TRANSACTION: _COMMON
    + (("action", "action", str), ("user", "username", str), ("funds", "funds", format_cents)),
}


CHUNK_CHARS = 256 * 1024  # how much of a DUMPLOG goes out at a time

# Characters XML 1.0 does not allow even as references (control characters, U+FFFE,
# U+FFFF, lone surrogates) can only come from a client's raw input; they become "?".
# Everything else survives: the route encodes non-ASCII as character references.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: str) -> str:
    return escape(_NOT_XML.sub("?", value))


def entry(kind: str, ts: int, server: str, txn: int, **fields) -> dict:
    """Build one log document, leaving out fields that are None."""
    doc = {"type": kind, "ts": ts, "server": server, "txn": txn}
    doc.update((k, v) for k, v in fields.items() if v is not None)
    return doc


def render_entry(doc: dict) -> str:
    """One log document as an XML element, fields in schema order."""
    kind = doc["type"]
    parts = [f"<{kind}>"]
    for key, element, fmt in _FIELDS[kind]:
        value = doc.get(key)
        if value is not None:
            parts.append(f"<{element}>{_text(fmt(value))}</{element}>")
    parts.append(f"</{kind}>\n")
    return "".join(parts)


def render_log(docs: Iterable[dict]) -> Iterator[str]:
    """The whole ``<log>`` document, streamed in pieces of about ``CHUNK_CHARS``.

    A piece per entry would be a write (and an HTTP chunk) per entry: a million of
    them for a big log.
    """
    yield '<?xml version="1.0" encoding="US-ASCII"?>\n<log>\n'
    piece: list[str] = []
    size = 0
    for doc in docs:
        text = render_entry(doc)
        piece.append(text)
        size += len(text)
        if size >= CHUNK_CHARS:
            yield "".join(piece)
            piece, size = [], 0
    yield "".join(piece) + "</log>\n"
