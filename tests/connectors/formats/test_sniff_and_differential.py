"""Sniffing the standard, and the EDIFACT reader agreeing with pydifact on every golden."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from canonical.errors import ParseError
from connectors.formats import read_any, sniff
from connectors.formats.edifact import read as read_edifact

GOLDEN = Path(__file__).parent / "golden"
EDIFACT_FILES = sorted(f"{d}/{p.name}" for d in ("in", "out") for p in (GOLDEN / d).glob("*.edi")
                       if p.read_bytes().lstrip()[:3] in (b"UNA", b"UNB"))


@pytest.mark.parametrize(("data", "kind"), [
    (b"ISA*00*", "x12"),
    (b"\xef\xbb\xbf\r\n  ISA|00|", "x12"),
    (b"UNA:+.? 'UNB+UNOC:3", "edifact"),
    (b"\n\nUNB+UNOA:2+", "edifact"),
    (b"<?xml version='1.0'?>", None),
    (b'{"order": 1}', None),
    (b"ISAAC NEWTON", None),
    (b"", None),
])
def test_sniff(data: bytes, kind: str | None) -> None:
    assert sniff(data) == kind


def test_read_any_reads_both_and_refuses_neither() -> None:
    x = (GOLDEN / "in" / "x12_856_004010.edi").read_bytes()
    e = (GOLDEN / "in" / "edifact_desadv_d96a.edi").read_bytes()
    assert [ic.standard for ic in read_any(x)] == ["x12"]
    assert [ic.transactions()[0].set_id for ic in read_any(e)] == ["DESADV"]
    with pytest.raises(ParseError) as err:
        read_any(b"hello", partner="acme")
    assert "partner acme" in str(err.value) and "byte offset 0" in str(err.value)


def _pydifact(text: str) -> list[tuple[str, list[list[str]]]]:
    from pydifact.parser import Parser

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        segments = list(Parser().parse(text))
    out = []
    for seg in segments:
        if seg.tag == "UNA":
            continue
        out.append((seg.tag, [e if isinstance(e, list) else [e] for e in seg.elements]))
    return out


@pytest.mark.parametrize("name", EDIFACT_FILES)
def test_same_segments_and_elements_as_pydifact(name: str) -> None:
    data = (GOLDEN / name).read_bytes()
    [ic] = list(read_edifact(data))
    ours = [(s.tag, [rep[0] for rep in s.elements]) for s in [
        ic.header, *[s for t in ic.transactions() for s in t.segments], ic.trailer] if s]
    text = data.decode(ic.encoding).replace("\r\n", "").replace("\n", "")
    assert ours == _pydifact(text)
