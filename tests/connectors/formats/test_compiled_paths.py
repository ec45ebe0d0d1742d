"""The decoder's compiled fast paths agree with the general code they stand in for.

- a segment the compiled element check passes gets no finding from ``check_elements``;
- the placement table (interned states and remembered moves) reports exactly what the
  level walk with real use counts reports, for random tag sequences of every set;
- an X12 segment kept flat reads, compares, pickles and validates like its nested form;
- each map node's compiled reader and pick do what ``Reader._apply_plan`` and
  ``Node.matches`` do, on nested and flat segments.
"""

from __future__ import annotations

import pickle
import random
from typing import Any

import pytest

from canonical.errors import Finding
from connectors.formats import edifact_dictionary, x12_dictionary
from connectors.formats.dictionary import Loop, SegmentDef, Use
from connectors.formats.model import Transaction
from connectors.formats.segments import Segment
from connectors.formats.validator import _close, _Level, validate_transaction
from connectors.formats.validator_compiled import segment_checks
from connectors.formats.validator_elements import check_elements
from mappings.compiled import Level, Node
from mappings.engine import load_map
from mappings.inbound import Reader

DICTIONARIES = [(x12_dictionary, True), (edifact_dictionary, False)]
VALUES = ["", "0", "7", "12", "12.5", ".5", "5.", "-3", "1,5", "00042", "EA", "PCE", "BY", "ZZ",
          "00", "SA", "A B", "x\x01y", "é", "٣", "²", "WIDGET 12MM", "20240115", "20240230",
          "00000115", "240115", "0930", "2460", "093075", "102", "203", "137", "9" * 16, "A" * 40]


def _value(rnd: random.Random, codes: list[str]) -> str:
    return rnd.choice(codes) if codes and rnd.random() < 0.5 else rnd.choice(VALUES)


def _random_elements(rnd: random.Random, rule: SegmentDef,
                     codes: dict[str, frozenset[str]]) -> list[list[list[str]]]:
    out = []
    for element in rule.elements[:rnd.randrange(len(rule.elements) + 2)]:
        parts = element.components or (element,)
        comps = [_value(rnd, sorted(codes[p.codes])[:8] if p.codes else [])
                 for p in parts[:rnd.randrange(1, len(parts) + 2)]]
        out.append([comps])
    return out


@pytest.mark.parametrize(("dictionary", "x12"), DICTIONARIES, ids=["x12", "edifact"])
def test_compiled_segment_check_passes_only_clean_segments(dictionary: Any, x12: bool) -> None:
    rnd = random.Random(11)
    checks = segment_checks(dictionary.SEGMENTS, dictionary.CODES, x12=x12)
    passed = 0
    for tag, rule in dictionary.SEGMENTS.items():
        for _ in range(300):
            elements = _random_elements(rnd, rule, dictionary.CODES)
            segs = [Segment(tag, elements, 3)]
            if x12 and all(len(e[0]) == 1 for e in elements):
                segs.append(Segment.flat(tag, [e[0][0] for e in elements]))
            full = check_elements(segs[0], rule, dictionary.CODES, x12=x12, partner=None,
                                  interchange=None, envelope=None)
            for seg in segs:
                if checks[tag](seg):
                    assert full == [], (tag, elements)
                    passed += 1
                elif all(v.isascii() and v.isprintable() and not {"-", ","} & set(v)
                         for e in elements for v in e[0]):
                    # Plain ASCII is left to the full checks only for a reason (signs and
                    # decimal commas are valid but always go there).
                    assert full, (tag, elements)
    assert passed > 500


def _reference(tx: Transaction, dictionary: Any) -> list[tuple[str, str, str, int]]:
    """The level walk with real use counts, as the validator placed segments before."""
    spec = dictionary.SETS[tx.set_id]
    out: list[tuple[str, str, str, int]] = []

    def report(kind: str, message: str, tag: str, position: int) -> None:
        out.append((kind, message, tag, position))

    levels = [_Level(spec.children)]
    for seg in tx.segments:
        for depth in range(len(levels) - 1, -1, -1):
            level = levels[depth]
            candidates = level.shape.where.get(seg.tag)
            if candidates is None:
                continue
            lowest = level.index if level.index or not depth else 1
            j = next((c for c in candidates if c >= lowest), None)
            if j is None:
                continue
            while len(levels) > depth + 1:
                _close(levels.pop(), report, seg.position)
            counts = level.counts
            for k in level.shape.required:
                start = level.index if counts[level.index] == 0 else level.index + 1
                if start <= k < j and counts[k] == 0:
                    node = level.shape.children[k]
                    name = node.tag if isinstance(node, Use) else node.trigger
                    report("missing", f"mandatory {name} missing", name, seg.position)
            level.index = j
            counts[j] += 1
            node = level.shape.children[j]
            if counts[j] > node.max_use:
                report("too_many" if isinstance(node, Use) else "loop",
                       f"{seg.tag} used more than {node.max_use} times", seg.tag, seg.position)
            while isinstance(node, Loop):
                inner = _Level(node.children)
                inner.counts[0] = 1
                levels.append(inner)
                node = node.children[0]
            break
        else:
            out.append(("unplaced", "", seg.tag, seg.position))
    end = tx.segments[-1].position if tx.segments else 0
    while levels:
        _close(levels.pop(), report, end)
    return out


def _structure(findings: list[Finding]) -> list[tuple[str, str | None, int | None]]:
    return [(f.message, f.segment_id, f.segment_position) for f in findings
            if f.element_position is None]


@pytest.mark.parametrize(("dictionary", "x12"), DICTIONARIES, ids=["x12", "edifact"])
def test_placement_table_reports_what_the_level_walk_reports(dictionary: Any, x12: bool) -> None:
    rnd = random.Random(5)
    for set_id, spec in dictionary.SETS.items():
        tags = sorted(spec.tags)
        for _ in range(150):
            picked = [rnd.choice(tags) for _ in range(rnd.randrange(1, 40))]
            # runs of one tag reach max use; a foreign tag now and then is never placed
            picked = [t for t in picked for _ in range(rnd.choice((1, 1, 1, 2, 3, 12)))]
            if rnd.random() < 0.3:
                picked.insert(rnd.randrange(len(picked) + 1), rnd.choice(["ZZZ", "BEG", "LIN"]))
            segs = [Segment(t, [], i) for i, t in enumerate(picked, 1)]
            tx = Transaction(set_id=set_id, control_number="1", segments=segs,
                             version="004010" if x12 else "D96A")
            got = _structure(validate_transaction(tx, standard="x12" if x12 else "edifact"))
            reference = _reference(tx, dictionary)
            # the validator words each unplaced segment itself (D96A and X12 are strict)
            unplaced = [g for g in got if g[0].endswith(("out of place", f"defined in {set_id}"))
                        or g[0].startswith("unknown segment")]
            assert [(t, p) for kind, _m, t, p in reference if kind == "unplaced"] == \
                [(t, p) for _m, t, p in unplaced], (set_id, picked)
            want = [(m, t, p) for kind, m, t, p in reference if kind != "unplaced"]
            assert [g for g in got if g not in unplaced] == want, (set_id, picked)


def test_flat_segment_reads_like_its_nested_form() -> None:
    values = ["00", "SA", "", "PO-1", "20240115"]
    flat, nested = Segment.flat("BEG", list(values)), Segment("BEG", [[[v]] for v in values])
    for element in range(-7, 8):
        for component in range(-2, 4):
            for repetition in range(-2, 4):
                assert flat.get(element, component, repetition) == \
                    nested.get(element, component, repetition), (element, component, repetition)
    assert flat.element_count() == nested.element_count() == 5
    assert pickle.loads(pickle.dumps(flat)) == flat
    assert flat == nested and repr(flat) == repr(nested)
    assert flat.values is None  # comparing built the nested form; it is the one used now
    other = Segment.flat("BEG", list(values))
    other.elements = [[["01"]]]  # replacing the elements drops the flat values
    assert other.values is None and other.get(1) == "01" and other.get(2) is None
    with pytest.raises(TypeError):
        hash(other)


def _nodes(level: Level) -> list[Node]:
    out = []
    for node in level.nodes:
        out.append(node)
        if node.level is not None:
            out += _nodes(node.level)
    return out


MAPS = [("x12", "850", "004010"), ("x12", "855", "004010"), ("x12", "810", "004010"),
        ("x12", "860", "004010"), ("edifact", "ORDERS", "D96A"), ("edifact", "INVOIC", "D96A"),
        ("edifact", "ORDRSP", "D96A")]


@pytest.mark.parametrize(("standard", "set_id", "version"), MAPS)
def test_compiled_map_readers_do_what_the_plan_does(standard: str, set_id: str,
                                                    version: str) -> None:
    m = load_map(standard, set_id, "inbound", version=version)
    rnd = random.Random(len(set_id))
    values = ["", "1", "EA", "PCE", "12.5", "x", "20240115", "abc", "BY", "EN", "SA", "VP",
              "UP", "F", "21", "AAA", "002", "9" * 13, "-"]
    compiled = 0
    for node in _nodes(m._root):
        if node.apply is None:
            continue
        compiled += 1
        for _ in range(60):
            width = rnd.randrange(0, 14)
            rows = [[rnd.choice(values) for _ in range(rnd.choice((1, 1, 2, 3, 4)))]
                    for _ in range(width)]
            segs = [Segment(node.tag, [[r] for r in rows], 4)]
            if all(len(r) == 1 for r in rows):
                segs.append(Segment.flat(node.tag, [r[0] for r in rows]))
                segs[-1].position = 4
            for seg in segs:
                fast, slow = Reader(m._root, m._known), Reader(m._root, m._known)
                a: dict[str, Any] = {}
                b: dict[str, Any] = {}
                node.apply(fast, seg, a, "")
                slow._apply_plan(node, Segment(seg.tag, seg.elements, 4), b, "")
                assert (a, fast.findings) == (b, slow.findings), (node.tag, rows)
    assert compiled


@pytest.mark.parametrize(("standard", "set_id", "version"), MAPS)
def test_compiled_pick_takes_the_node_matches_takes(standard: str, set_id: str,
                                                    version: str) -> None:
    m = load_map(standard, set_id, "inbound", version=version)
    rnd = random.Random(7)
    levels = [m._root] + [n.level for n in _nodes(m._root) if n.level is not None]
    for level in levels:
        for tag, cands in level.by_tag.items():
            qualifiers = sorted({v for c in cands for _e, _c, allowed in c.when for v in allowed})
            for _ in range(40):
                rows = [[rnd.choice([*qualifiers, "", "X"]) for _ in range(rnd.randrange(1, 4))]
                        for _ in range(rnd.randrange(0, 5))]
                segs = [Segment(tag, [[r] for r in rows])]
                if all(len(r) == 1 for r in rows):
                    segs.append(Segment.flat(tag, [r[0] for r in rows]))
                for seg in segs:
                    want = next((c for c in cands if not c.when or c.matches(seg)), None)
                    assert level.pick[tag](seg) is want, (tag, rows)
