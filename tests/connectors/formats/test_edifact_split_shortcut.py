"""``split_edifact`` taking the line breaks after terminators out up front (and building
its segments without ``Segment.__init__``) reads every layout as splitting and stripping
segment by segment did: no breaks, LF, CR LF, blank lines, CR alone, breaks inside and at
the end of segments, released terminators followed by a break (data, not layout), a
release character standing before a break, LF as the terminator, repetition separators.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from connectors.formats import edifact
from connectors.formats._tokens import _released_segment, split_edifact, split_released
from connectors.formats.model import Delimiters
from connectors.formats.segments import Segment
from tests.connectors.formats.test_decode_shortcuts import layouts

_NEWLINES = "\r\n"


def _split_edifact_per_segment(text: str, d: Delimiters) -> list[Segment]:
    """``split_edifact`` as it was: every segment stripped of line breaks on its own."""
    element, component, release = d.element, d.component, d.release
    repetition = d.repetition
    out: list[Segment] = []
    pieces = (split_released(text, d.segment, release)
              if release is not None and release in text else text.split(d.segment))
    for raw in pieces:
        if raw[:1] in _NEWLINES or raw[-1:] in _NEWLINES:
            raw = raw.strip(_NEWLINES)
            if not raw:
                continue
        if release is not None and release in raw:
            out.append(_released_segment(raw, d, release))
            continue
        parts = raw.split(element)
        if repetition is not None and repetition in raw:
            elements = [[r.split(component) for r in p.split(repetition)] for p in parts[1:]]
        elif component in raw:
            elements = [[p.split(component)] for p in parts[1:]]
        else:
            elements = [[[p]] for p in parts[1:]]
        out.append(Segment(parts[0], elements))
    return out


def _dump(segments: list[Segment]) -> list[tuple[str, Any, int, Any]]:
    return [(s.tag, s.elements, s.position, s.values) for s in segments]


@pytest.mark.parametrize(("terminator", "release", "repetition"),
                         [("'", "?", None), ("'", "?", "*"), ("'", None, None), ("\n", "?", None),
                          ("~", "!", "^")])
def test_split_edifact_reads_every_layout_as_splitting_segment_by_segment(
        terminator: str, release: str | None, repetition: str | None) -> None:
    rnd = random.Random(f"{terminator}{release}{repetition}")
    d = Delimiters(element="+", component=":", segment=terminator, repetition=repetition,
                   release=release, decimal=".")
    r = release or ""
    pieces = ["UNH+1+ORDERS:D:96A:UN", "BGM+220+PO1+9", "DTM+137:20240115:102",
              f"FTX+DEL+++CALL {r}+44 BEFORE", f"FTX+AAA+++IT{r}'S {r}{r}", f"FTX+AAA+++A{r}:B",
              "NAD+BY+5412345000013::9", "QTY+21:5:PCE", "PRI+AAA:1.5", "RFF+ON:1*2",
              f"FTX+AAA+++END{r}", "UNS+S", "", "X"]
    for text in layouts(rnd, pieces, terminator):
        assert _dump(split_edifact(text, d)) == _dump(_split_edifact_per_segment(text, d)), repr(text)


def test_segments_built_without_init_are_whole_segments() -> None:
    d = Delimiters(element="+", component=":", segment="'", release="?", decimal=".")
    [seg] = split_edifact("QTY+21:5:PCE'\n", d)
    assert seg == Segment("QTY", [[["21", "5", "PCE"]]])
    assert (seg.get(1, 2), seg.position, seg.values, seg.element_count()) == ("5", 0, None, 1)
    ic = next(edifact.read(b"UNA:+.? 'UNB+UNOC:3+A:14+B:14+240115:0930+1'\nUNH+1+ORDERS:D:96A:UN'\n"
                           b"BGM+220+PO1+9'\nUNT+3+1'\nUNZ+1+1'\n"))
    [tx] = ic.transactions()
    assert [(s.tag, s.position) for s in tx.segments] == [("UNH", 1), ("BGM", 2), ("UNT", 3)]
    assert tx.findings == [] and ic.findings == []
