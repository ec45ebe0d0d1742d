"""Hardened XML: parse_xml refuses DTDs, entity bombs and external entities, with a clear error."""

from __future__ import annotations

import time

import pytest

from connectors.xml import XmlRejected, parse_xml

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<order><note>&lol9;</note></order>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE order [ <!ENTITY secret SYSTEM "file:///etc/passwd"> ]>
<order><note>&secret;</note></order>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE order SYSTEM "http://127.0.0.1:9/evil.dtd">
<order><id>1</id></order>"""


def test_plain_business_xml_parses() -> None:
    root = parse_xml(b'<?xml version="1.0"?><Order xmlns="urn:x"><Id>PO-1</Id></Order>')
    assert root.findtext("{urn:x}Id") == "PO-1"


@pytest.mark.parametrize(("payload", "reason"), [
    (BILLION_LAUGHS, "dtd"), (EXTERNAL_ENTITY, "dtd"), (EXTERNAL_DTD, "dtd"),
], ids=["billion-laughs", "external-entity", "external-dtd"])
def test_attacks_are_refused_quickly_and_say_why(payload: bytes, reason: str) -> None:
    started = time.monotonic()
    with pytest.raises(XmlRejected) as caught:
        parse_xml(payload, partner="ACME")
    assert time.monotonic() - started < 1.0  # nothing was expanded or fetched
    error = caught.value
    assert error.code == "xml.forbidden" and error.partner == "ACME"
    assert error.details["reason"] == reason
    assert "root:" not in str(error.describe())


def test_size_limit_and_malformed_xml() -> None:
    with pytest.raises(XmlRejected) as too_big:
        parse_xml(b"<a>" + b"x" * 2048 + b"</a>", max_bytes=1024)
    assert too_big.value.code == "xml.too_large" and too_big.value.details["limit"] == 1024
    with pytest.raises(XmlRejected) as broken:
        parse_xml(b"<order><id>1</order>")
    assert broken.value.code == "xml.malformed" and broken.value.details["position"][0] == 1
