"""EDIFACT syntax identifiers (UNB S001 0001): how bytes decode, which characters are allowed.

UNOA and UNOB are restricted repertoires a partner's translator may refuse outright, so
every character outside them is reported (CONTRL 0085 code 21, invalid character) at
the segment, element and component that carries it. The check is one regex search over
the whole interchange; only an interchange with a violation is walked segment by segment.
"""

from __future__ import annotations

import re

from connectors.formats._findings import finding
from connectors.formats.model import Interchange
from connectors.formats.segments import Segment

__all__ = ["ENCODINGS", "check_charset", "encoding_for"]

ENCODINGS = {
    "UNOA": "latin-1", "UNOB": "latin-1", "UNOC": "latin-1", "UNOD": "iso8859-2",
    "UNOE": "iso8859-5", "UNOF": "iso8859-7", "UNOG": "iso8859-3", "UNOH": "iso8859-4",
    "UNOI": "iso8859-6", "UNOJ": "iso8859-8", "UNOK": "iso8859-9", "UNOW": "utf-8",
    "UNOY": "utf-8",
}

# Level A: upper case letters, digits, space and . , - ( ) / = ' + : ? ! " % & * ; < >
_OUTSIDE = {
    "UNOA": re.compile(r"""[^A-Z0-9 .,\-()/='+:?!"%&*;<>]"""),
    "UNOB": re.compile(r"[^\x20-\x7e]"),
}
_OUTSIDE_TEXT = {
    "UNOA": re.compile(r"""[^A-Z0-9 .,\-()/='+:?!"%&*;<>\r\n]"""),
    "UNOB": re.compile(r"[^\x20-\x7e\r\n]"),
}


def encoding_for(syntax: str) -> str:
    """The Python codec for reading a syntax identifier; unknown ones are read byte for byte.

    UNOA/UNOB read as latin-1 so a stray character is reported as itself, not as a
    decoding failure.
    """
    return ENCODINGS.get(syntax.upper(), "latin-1")


def check_charset(
    ic: Interchange, syntax: str, text: str, *, partner: str | None, undecodable: bool
) -> None:
    """Add a finding for each value using characters its syntax identifier does not allow."""
    where = f"UNB {ic.control_number}"
    if undecodable:
        ic.findings.append(finding(
            "edifact.0085.21", f"bytes that are not {encoding_for(syntax)} under {syntax}",
            partner=partner, interchange=where, segment_id="UNB", segment_position=1))
    key = syntax.upper()
    pattern = _OUTSIDE_TEXT.get(key)
    if key == "UNOA" or key == "UNOB":
        # Delimiters may be any character the UNA names, so they are allowed in the text.
        d = ic.delimiters
        extra = "".join(re.escape(c) for c in (d.element, d.component, d.segment,
                                                 d.release or "", d.repetition or ""))
        base = _OUTSIDE_TEXT[key].pattern
        pattern = re.compile(base[:-1] + extra + "]")
    if pattern is None or pattern.search(text) is None:
        return
    values = _OUTSIDE[key]
    for group in ic.groups:
        for tx in group.transactions:
            envelope = f"UNH {tx.control_number} {tx.set_id}"
            for seg in tx.segments:
                for element, component, value, bad in _violations(seg, values):
                    tx.findings.append(finding(
                        "edifact.0085.21", f"character {bad!r} is not allowed in {syntax}",
                        partner=partner, interchange=where, envelope=envelope,
                        segment_id=seg.tag, segment_position=seg.position,
                        element_position=element, component_position=component, value=value))


def _violations(seg: Segment, pattern: re.Pattern[str]) -> list[tuple[int, int, str, str]]:
    out = []
    for e, element in enumerate(seg.elements, 1):
        for repetition in element:
            for c, value in enumerate(repetition, 1):
                match = pattern.search(value)
                if match:
                    out.append((e, c, value, match.group()))
    return out
