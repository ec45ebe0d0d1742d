"""Telling an async MDN from a message at POST /as2, and matching it only to its own partner."""

from __future__ import annotations

import pytest

from canonical.errors import PermanentError
from connectors.transports.as2 import SentMessage, is_mdn, match_async_mdn
from connectors.transports.as2.mdn import render_mdn

SIGNED = 'multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="s"'


def signed(first_part_type: str) -> bytes:
    return (f"--s\r\nContent-Type: {first_part_type}\r\n\r\nbody\r\n"
            "--s\r\nContent-Type: application/pkcs7-signature\r\n\r\nAAAA\r\n--s--\r\n").encode()


@pytest.mark.parametrize(("content_type", "body", "expected"), [
    ('multipart/report; report-type=disposition-notification; boundary="r"', b"", True),
    (SIGNED, signed('multipart/report; report-type=disposition-notification; boundary="r"'), True),
    (SIGNED, signed("application/edi-x12"), False),  # a signed payload
    (SIGNED, b"not multipart at all", False),
    ("application/edi-x12", b"ISA*00*", False),
    ("application/pkcs7-mime; smime-type=enveloped-data", b"\x30\x80", False),
])
def test_is_mdn(content_type: str, body: bytes, expected: bool) -> None:
    assert is_mdn({"Content-Type": content_type}, body) is expected


def test_an_mdn_from_another_partner_does_not_match_our_message() -> None:
    sent = {"<m1@ACME>": SentMessage("<m1@ACME>", "MOCKEDI", "sha256", ("abc=",))}
    headers, body = render_mdn(our_id="SOMEONE", partner_id="ACME", original_message_id="<m1@ACME>",
                               disposition="processed", text="", mic="abc=, sha256")
    with pytest.raises(PermanentError) as refused:
        match_async_mdn(headers, body, sent=sent)
    assert refused.value.code == "as2.mdn_unmatched"
    headers, body = render_mdn(our_id="MOCKEDI", partner_id="ACME", original_message_id="<m1@ACME>",
                               disposition="processed", text="", mic="abc=, sha256")
    assert match_async_mdn(headers, body, sent=sent).mdn is not None
