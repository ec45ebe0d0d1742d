"""The second round of decode shortcuts against the general code they stand in for.

- ``split_x12`` taking the line breaks after terminators out up front reads every layout
  (no breaks, LF, CR LF, blank lines, a break inside or at the end of a segment, LF as the
  terminator) as splitting and stripping segment by segment does;
- ``read_delimiters`` answering a repeated fixed-width ISA from its last result answers
  (or fails) for any ISA as if nothing had been read before;
- the compiled map readers with the ``decimal``/``money`` transforms and nested paths
  written in fill the same fields and make the same findings as ``Reader._apply_plan``,
  for awkward numbers and for targets that already hold values;
- a level's ``fixed`` node is what its compiled pick returns.
"""

from __future__ import annotations

import contextlib
import copy
import random
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from canonical.errors import ParseError
from connectors.formats import x12
from connectors.formats._tokens import split_x12
from connectors.formats.model import Delimiters
from connectors.formats.segments import Segment
from mappings.engine import load_map
from mappings.inbound import Reader
from mappings.paths import set_path
from tests.connectors.formats.test_compiled_paths import MAPS, _nodes

_NEWLINES = "\r\n"


def _split_x12_per_segment(text: str, d: Delimiters) -> list[Segment]:
    """``split_x12`` as it was: every segment stripped of line breaks on its own."""
    element, component, repetition = d.element, d.component, d.repetition
    out: list[Segment] = []
    strip_cr = d.segment == "\n"
    for raw in text.split(d.segment):
        if raw[:1] in _NEWLINES or strip_cr:
            raw = raw.strip(_NEWLINES)
            if not raw:
                continue
        parts = raw.split(element)
        if component in raw or (repetition is not None and repetition in raw):
            reps = [p.split(repetition) if repetition is not None and repetition in p else [p]
                    for p in parts[1:]]
            out.append(Segment(parts[0], [[r.split(component) for r in rs] for rs in reps]))
        else:
            out.append(Segment.flat(parts[0], parts[1:]))
    return out


def _dump(segments: list[Segment]) -> list[tuple[str, Any, int]]:
    return [(s.tag, s.elements, s.position) for s in segments]


@pytest.mark.parametrize("terminator", ["~", "\n", "'"])
def test_split_x12_reads_every_layout_as_splitting_segment_by_segment(terminator: str) -> None:
    rnd = random.Random(11)
    d = Delimiters(element="*", component=">", segment=terminator, repetition="^")
    pieces = ["ST*850*0001", "BEG*00*SA*PO-1**20240115", "N1*BY*ACME", "PO1*1*2*EA*3.5**UP*1",
              "PID*F****A>B", "REF*ZZ*X^Y", "SE*7*0001", "", "X"]
    for text in layouts(rnd, pieces, terminator):
        assert _dump(split_x12(text, d)) == _dump(_split_x12_per_segment(text, d)), repr(text)


def layouts(rnd: random.Random, pieces: list[str], terminator: str, count: int = 3000) -> Iterator[str]:
    """Texts of up to 8 of ``pieces`` each, with line breaks around and inside segments."""
    breaks = ["", "\n", "\r\n", "\n\n", "\r", "\n\r", " "]
    for _ in range(count):
        text = rnd.choice(["", "\n", "\r\n"])
        for _ in range(rnd.randrange(0, 9)):
            piece = rnd.choice(pieces)
            if piece and rnd.random() < 0.1:  # a break inside a segment
                k = rnd.randrange(len(piece) + 1)
                piece = piece[:k] + rnd.choice(breaks) + piece[k:]
            text += piece + terminator + rnd.choice(breaks)
        if rnd.random() < 0.3:
            text = text.rstrip(terminator + _NEWLINES)
        yield text


_ISA = (b"ISA*00*          *00*          *ZZ*ACMESTORES     *ZZ*WIDGETSUPPLY   *240115*0930*U"
        b"*00401*000000001*0*P*>~")


def _outcome(data: bytes, *, cached: bytes | None) -> Any:
    x12._LAST_ISA = (None, None)
    if cached is not None:
        with contextlib.suppress(ParseError):
            x12.read_delimiters(cached)
    try:
        return x12.read_delimiters(data)
    except ParseError as exc:
        return type(exc), str(exc)


def test_read_delimiters_answers_as_if_nothing_was_read_before() -> None:
    assert _outcome(_ISA, cached=None) == (Delimiters("*", ">", "~"), 106)
    other = _ISA.replace(b">~", b":!")
    unpadded = b"ISA*00**00**ZZ*A*ZZ*B*240115*0930*U*00401*000000001*0*P*>~GS*PO*A*B~"
    cases = [_ISA, _ISA + b"GS*PO~", other, unpadded, unpadded[:58], b"", b"IS", b"ISA",
             _ISA[:60], _ISA.replace(b">~", b"A~"), _ISA.replace(b">~", b"**"),
             _ISA[:103] + b":>~"]
    for data in cases:
        for before in (_ISA, other, unpadded, None):
            assert _outcome(data, cached=before) == _outcome(data, cached=None), (data, before)


_NUMBERS = ["", "1", "12.5", "-3", " 7 ", "1e3", "1E-2", "NaN", "nan", "sNaN", "Infinity",
            "-inf", "1_000", "\u0663\u0664", "1,5", ".", "-", "x", "0", "00.10", "9" * 30]


@pytest.mark.parametrize(("standard", "set_id", "version"), MAPS)
def test_written_in_transforms_and_paths_do_what_the_plan_does(standard: str, set_id: str,
                                                                version: str) -> None:
    m = load_map(standard, set_id, "inbound", version=version)
    rnd = random.Random(3)
    values = _NUMBERS + ["EA", "PCE", "BY", "EN", "VP", "UP", "F", "21", "20240115", "ZZ"]
    prefills: list[dict[str, Any]] = [
        {}, {"address": {"lines": ["kept"]}}, {"address": {"city": "old", "lines": []}},
        {"uom": "CS", "quantity": Decimal(1)}, {"lines": [{}]},
    ]
    checked = 0
    for node in _nodes(m._root):
        if node.apply is None:
            continue
        for _ in range(80):
            rows = [[rnd.choice(values) for _ in range(rnd.choice((1, 1, 2, 3)))]
                    for _ in range(rnd.randrange(0, 12))]
            segs = [Segment(node.tag, [[r] for r in rows], 4)]
            if all(len(r) == 1 for r in rows):
                segs.append(Segment.flat(node.tag, [r[0] for r in rows]))
                segs[-1].position = 4
            prefill = rnd.choice(prefills)
            for seg in segs:
                fast, slow = Reader(m._root, m._known), Reader(m._root, m._known)
                a, b = copy.deepcopy(prefill), copy.deepcopy(prefill)
                node.apply(fast, seg, a, "lines[2]")
                slow._apply_plan(node, Segment(seg.tag, seg.elements, 4), b, "lines[2]")
                assert (_exact(a), fast.findings) == (_exact(b), slow.findings), (node.tag, rows)
                checked += 1
    assert checked


def _exact(obj: Any) -> Any:
    """Values with their types and Decimal representations (Decimal('1.0') == 1 otherwise)."""
    if isinstance(obj, dict):
        return {k: _exact(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_exact(v) for v in obj]
    return (type(obj).__name__, repr(obj))


def test_written_in_paths_clash_as_set_path_does() -> None:
    from mappings.compiled import _set_path_source

    for path, target in [(("address", "city"), {"address": []}),
                         (("address", "lines", 0), {"address": {"lines": {}}}),
                         (("address", "lines", 1), {"address": "x"})]:
        ns: dict[str, Any] = {"set_path": set_path, "target": copy.deepcopy(target), "value": "v"}
        with pytest.raises(Exception) as written:  # whichever set_path raises
            exec("\n".join(_set_path_source(path)), ns)
        with pytest.raises(Exception) as general:
            set_path(copy.deepcopy(target), path, "v")
        assert (type(written.value), str(written.value)) == \
            (type(general.value), str(general.value))


@pytest.mark.parametrize(("standard", "set_id", "version"), MAPS)
def test_fixed_node_is_what_the_pick_returns(standard: str, set_id: str, version: str) -> None:
    m = load_map(standard, set_id, "inbound", version=version)
    levels = [m._root] + [n.level for n in _nodes(m._root) if n.level is not None]
    for level in levels:
        for tag, node in level.fixed.items():
            for seg in (Segment(tag, []), Segment.flat(tag, ["ZZ", "1"]),
                        Segment(tag, [[["X", "Y"]]])):
                assert level.pick[tag](seg) is node
        assert all(not cands[0].when for tag, cands in level.by_tag.items()
                   if tag in level.fixed)
        assert all(cands[0].when for tag, cands in level.by_tag.items()
                   if tag not in level.fixed)
