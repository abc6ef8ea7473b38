"""The audit log's XML form against the repository's (widened) course schema."""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

from services.common import auditlog
from services.common.auditlog import (
    ACCOUNT_TRANSACTION,
    ERROR_EVENT,
    QUOTE_SERVER,
    SYSTEM_EVENT,
    USER_COMMAND,
    entry,
    render_entry,
    render_log,
)
from services.common.domain.identifiers import check_symbol
from services.common.errors import InvalidInput
from services.common.presenters import log_entry

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schema" / "logfile.xsd"
XSD = "{http://www.w3.org/2001/XMLSchema}"
TS = 1_700_000_000_000  # Nov 2023, inside the widened bounds
MONEY = re.compile(r"^-?\d+\.\d{2}$")
NASTY_MESSAGE = "amount must be > 0 <&> \"quoted\" 'too'"


@cache
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH)))


@cache
def schema_field_order() -> dict[str, list[str]]:
    """Entry element name -> its child element names in the order the schema lists them."""
    doc = etree.parse(str(SCHEMA_PATH))
    types = {
        ct.get("name"): [el.get("name") for el in ct.iter(f"{XSD}element")]
        for ct in doc.iter(f"{XSD}complexType")
    }
    choice = doc.find(f"{XSD}complexType[@name='LogType']/{XSD}choice")
    return {el.get("name"): types[el.get("type")] for el in choice}


def to_xml(docs) -> bytes:
    """The log as DUMPLOG serves it: ASCII, other characters as references."""
    return "".join(render_log(docs)).encode("ascii", "xmlcharrefreplace")


def parse(xml: bytes) -> etree._Element:
    return etree.fromstring(xml)


def representative_entries() -> list[dict]:
    return [
        entry(USER_COMMAND, TS, "TS1", 1, command="ADD", user="alice", funds=10_000),
        entry(ACCOUNT_TRANSACTION, TS + 1, "TS1", 1, action="add", user="alice", funds=10_000),
        entry(USER_COMMAND, TS + 2, "TS1", 2, command="BUY", user="alice", symbol="ABC", funds=5),
        entry(
            QUOTE_SERVER,
            TS + 3,
            "QSRV1",
            2,
            price=1_500,
            symbol="ABC",
            user="alice",
            qs_time=TS + 3,
            cryptokey="IRrR7UeTO35kSWUgG0QJKmB35sL27FKM7AVhP5qpjCgmWQeXFJs35g==",
        ),
        entry(ACCOUNT_TRANSACTION, TS + 4, "TS1", 2, action="remove", user="alice", funds=4_500),
        entry(
            SYSTEM_EVENT,
            TS + 5,
            "TRIG1",
            7,
            command="SET_BUY_TRIGGER",
            user="alice",
            symbol="ABC",
            funds=4_500,
        ),
        entry(
            ERROR_EVENT,
            TS + 6,
            "TS1",
            8,
            command="ADD",
            user="alice",
            message=NASTY_MESSAGE,
        ),
        entry(ERROR_EVENT, TS + 7, "TS1", 9, command="COMMIT_SELL", user="bob"),
        entry(USER_COMMAND, TS + 8, "TS1", 10, command="DUMPLOG", filename="out.xml"),
        entry(USER_COMMAND, TS + 9, "TS1", 11, command="DUMPLOG", user="bob", filename="b.xml"),
    ]


def test_a_representative_log_is_valid_under_the_schema():
    root = parse(to_xml(representative_entries()))
    schema().assertValid(root)
    assert [child.tag for child in root] == [
        USER_COMMAND,
        ACCOUNT_TRANSACTION,
        USER_COMMAND,
        QUOTE_SERVER,
        ACCOUNT_TRANSACTION,
        SYSTEM_EVENT,
        ERROR_EVENT,
        ERROR_EVENT,
        USER_COMMAND,
        USER_COMMAND,
    ]


def test_an_empty_log_is_valid():
    root = parse(to_xml([]))
    assert root.tag == "log" and len(root) == 0
    schema().assertValid(root)


def test_the_log_starts_with_an_xml_declaration_and_a_log_root():
    text = "".join(render_log([]))
    assert text.startswith('<?xml version="1.0"')
    assert "<log>" in text and text.rstrip().endswith("</log>")


@pytest.mark.parametrize("doc", representative_entries(), ids=lambda d: d["type"])
def test_each_entry_alone_is_valid(doc):
    schema().assertValid(parse(to_xml([doc])))


@pytest.mark.parametrize("doc", representative_entries(), ids=lambda d: d["type"])
def test_fields_follow_the_schema_order(doc):
    element = parse(to_xml([doc]))[0]
    order = schema_field_order()[element.tag]
    tags = [child.tag for child in element]
    assert tags[:3] == ["timestamp", "server", "transactionNum"]
    positions = [order.index(tag) for tag in tags]
    assert positions == sorted(positions)


def test_money_has_exactly_two_decimals():
    root = parse(to_xml(representative_entries()))
    values = [el.text for el in root.iter("funds", "price")]
    assert values == ["100.00", "100.00", "0.05", "15.00", "45.00", "45.00"]


@pytest.mark.parametrize("cents", [0, 1, 10, 100, 123_456, 1_000_000_000_00])
def test_funds_and_prices_render_with_two_decimals_for_any_amount(cents):
    docs = [
        entry(ACCOUNT_TRANSACTION, TS, "TS1", 1, action="add", user="a", funds=cents),
        entry(
            QUOTE_SERVER, TS, "Q", 1, price=cents, symbol="A", user="a", qs_time=1, cryptokey="k"
        ),
    ]
    root = parse(to_xml(docs))
    schema().assertValid(root)
    for text in (root.findtext("accountTransaction/funds"), root.findtext("quoteServer/price")):
        assert MONEY.match(text)
        assert Decimal(text) * 100 == cents


def test_free_text_with_xml_special_characters_is_escaped_and_round_trips():
    doc = representative_entries()[6]
    raw = render_entry(doc)
    assert "&lt;&amp;&gt;" in raw
    assert "<&>" not in raw
    root = parse(to_xml([doc]))
    assert root.find("errorEvent/errorMessage").text == NASTY_MESSAGE


def test_a_dumplog_user_command_with_only_a_filename_has_no_user_or_symbol():
    element = parse(to_xml([representative_entries()[8]]))[0]
    assert [child.tag for child in element] == [
        "timestamp",
        "server",
        "transactionNum",
        "command",
        "filename",
    ]
    assert element.findtext("filename") == "out.xml"


def test_non_ascii_text_survives_as_character_references():
    doc = entry(USER_COMMAND, TS, "TS1", 3, command="DUMPLOG", filename="r\u00e9sum\u00e9.xml")
    xml = to_xml([doc])
    assert b"&#233;" in xml
    root = parse(xml)
    schema().assertValid(root)
    assert root.findtext("userCommand/filename") == "r\u00e9sum\u00e9.xml"


def test_quote_server_entries_carry_the_quote_server_time_and_cryptokey():
    element = parse(to_xml([representative_entries()[3]]))[0]
    assert element.findtext("quoteServerTime") == str(TS + 3)
    assert element.findtext("cryptokey").endswith("35g==")
    assert element.findtext("timestamp") == str(TS + 3)


def test_the_schema_rejects_a_four_letter_symbol_so_the_rules_must_prevent_it():
    doc = entry(USER_COMMAND, TS, "TS1", 1, command="QUOTE", user="alice", symbol="ABCD")
    root = parse(to_xml([doc]))
    assert not schema().validate(root)
    assert "stockSymbol" in str(schema().error_log.last_error)
    # ... and the identifier rule refuses such a symbol before it can be logged.
    with pytest.raises(InvalidInput):
        check_symbol("ABCD")
    assert check_symbol("ABC") == "ABC"


@pytest.mark.parametrize(
    "bad",
    [
        entry(USER_COMMAND, TS, "TS1", 0, command="ADD", user="a", funds=1),
        entry(USER_COMMAND, TS, "TS1", 1, command="REGISTER", user="a"),
        entry(USER_COMMAND, 1_700_000_000, "TS1", 1, command="ADD", user="a", funds=1),
    ],
    ids=["transaction-zero", "unknown-command", "seconds-timestamp"],
)
def test_the_schema_catches_what_the_service_must_never_log(bad):
    assert not schema().validate(parse(to_xml([bad])))


def test_entry_drops_fields_that_are_none():
    doc = entry(
        USER_COMMAND, TS, "TS1", 4, command="DUMPLOG", user=None, symbol=None, filename="f.xml"
    )
    assert doc == {
        "type": USER_COMMAND,
        "ts": TS,
        "server": "TS1",
        "txn": 4,
        "command": "DUMPLOG",
        "filename": "f.xml",
    }
    assert "<username>" not in render_entry(doc)


def test_entry_keeps_falsy_values_that_are_not_none():
    doc = entry(ACCOUNT_TRANSACTION, TS, "TS1", 4, action="add", user="alice", funds=0)
    assert doc["funds"] == 0
    assert "<funds>0.00</funds>" in render_entry(doc)


def test_render_entry_ignores_keys_the_entry_type_does_not_have():
    doc = entry(ACCOUNT_TRANSACTION, TS, "TS1", 4, action="add", user="a", funds=1, symbol="X")
    assert "stockSymbol" not in render_entry(doc)


def test_every_entry_type_the_module_writes_is_in_the_schema():
    assert set(auditlog.ENTRY_TYPES) <= set(schema_field_order())


def test_log_entry_for_the_api_uses_the_xml_names_and_dollars():
    doc = entry(
        QUOTE_SERVER, TS, "QSRV1", 2, price=1_500, symbol="ABC", user="a", qs_time=TS, cryptokey="k"
    )
    assert log_entry(doc) == {
        "type": QUOTE_SERVER,
        "timestamp": TS,
        "server": "QSRV1",
        "transactionNum": 2,
        "price": "15.00",
        "stockSymbol": "ABC",
        "username": "a",
    }
    funds = log_entry(entry(ACCOUNT_TRANSACTION, TS, "TS1", 1, action="add", user="a", funds=5))
    assert funds["funds"] == "0.05"
