"""Who a broken interchange comes from, read leniently from its ISA or UNB (``sender_hint``)."""

from __future__ import annotations

import pytest

from hub.edi.receive import sender_hint


@pytest.mark.parametrize(("raw", "expected"), [
    (b"ISA*00*          *00*          *ZZ*MOCKEDI        *ZZ*CROSSDOCK      *2611", ("MOCKEDI", "CROSSDOCK")),
    (b"\xef\xbb\xbf\r\nISA|00|          |00|          |ZZ|ACME           |ZZ", ("ACME", "")),  # cut after ISA06
    (b"UNB+UNOC:3+4012345000009:14+4098765000002:14+2611", ("4012345000009", "4098765000002")),
    (b"UNA|;.? 'UNB;UNOC|3;SENDER|14;US|14;26", ("SENDER", "US")),  # the UNA's own separators
    (b"ISA*00*", None), (b"UNB+UNOC:3", None), (b"hello", None),
])
def test_the_sender_of_a_broken_envelope(raw: bytes, expected: tuple[str, str] | None) -> None:
    assert sender_hint(raw) == expected
