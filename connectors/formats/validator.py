"""Syntax validation of X12 sets and EDIFACT messages against the data dictionaries.

Each segment is placed in the set's structure (loops by their trigger segment), so a
missing mandatory segment, a segment out of place, one foreign to the set and one used
too often are reported; each element is checked for presence, length, type, date/time
and code list. Findings carry the standard's codes (``x12.ak3.*`` / ``x12.ak4.*`` or
``edifact.0085.*``) and the segment position, segment id, element and component.

Usage:
    validate_interchange(interchange, partner="acme")  # appends to tx.findings
    findings = validate_transaction(tx, standard="x12")
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from canonical.errors import Finding
from connectors.formats import edifact_dictionary, x12_dictionary
from connectors.formats._findings import finding
from connectors.formats.dictionary import Loop, MessageDef, Use
from connectors.formats.model import Interchange, Transaction
from connectors.formats.validator_compiled import segment_checks
from connectors.formats.validator_elements import check_elements

__all__ = ["validate_interchange", "validate_transaction"]

Standard = Literal["x12", "edifact"]
_Report = Callable[[str, str, str, int], None]  # (kind, message, segment id, position)

# Segment-level codes: X12 AK304 / IK304 and the EDIFACT 0085 a CONTRL UCS carries.
_SEGMENT_CODES = {
    "x12": {"unrecognized": "x12.ak3.1", "unexpected": "x12.ak3.2", "missing": "x12.ak3.3",
            "loop": "x12.ak3.4", "too_many": "x12.ak3.5", "foreign": "x12.ak3.7"},
    "edifact": {"unrecognized": "edifact.0085.15", "unexpected": "edifact.0085.15",
                "missing": "edifact.0085.13", "loop": "edifact.0085.36",
                "too_many": "edifact.0085.35", "foreign": "edifact.0085.15"},
}


class _Shape:
    """Lookup tables for one list of children: where each tag may be placed, what is required."""

    __slots__ = ("children", "required", "where")

    def __init__(self, children: tuple[Use | Loop, ...]) -> None:
        self.children = children
        where: dict[str, list[int]] = {}
        for j, node in enumerate(children):
            where.setdefault(node.tag if isinstance(node, Use) else node.trigger, []).append(j)
        self.where = {tag: tuple(js) for tag, js in where.items()}
        self.required = tuple(j for j, node in enumerate(children) if node.required)


_SHAPES: dict[int, _Shape] = {}


def _shape(children: tuple[Use | Loop, ...]) -> _Shape:
    shape = _SHAPES.get(id(children))
    if shape is None or shape.children is not children:
        shape = _SHAPES[id(children)] = _Shape(children)
    return shape


class _Level:
    __slots__ = ("counts", "index", "shape")

    def __init__(self, children: tuple[Use | Loop, ...]) -> None:
        self.shape = _shape(children)
        self.index = 0
        self.counts = [0] * len(children)


def validate_transaction(
    tx: Transaction, *, standard: Standard, partner: str | None = None,
    interchange: str | None = None,
) -> list[Finding]:
    """The syntax findings for one set/message (envelope findings are the reader's)."""
    x12 = standard == "x12"
    dictionary = x12_dictionary if x12 else edifact_dictionary
    envelope = f"ST {tx.set_id} {tx.control_number}" if x12 else (
        f"UNH {tx.control_number} {tx.set_id}")
    codes = _SEGMENT_CODES[standard]
    out: list[Finding] = []

    def report(code: str, message: str, seg_id: str, position: int) -> None:
        out.append(finding(codes[code], message, partner=partner, interchange=interchange,
                           envelope=envelope, segment_id=seg_id, segment_position=position))

    spec: MessageDef | None = dictionary.SETS.get(tx.set_id)
    if spec is None:
        code = "x12.ak5.1" if x12 else "edifact.0085.14"
        out.append(finding(code, f"{tx.set_id} is not a supported {'set' if x12 else 'message'}",
                           partner=partner, interchange=interchange, envelope=envelope))
        return out
    strict = x12 or (tx.version or "") in edifact_dictionary.STRICT_VERSIONS
    rules = dictionary.SEGMENTS
    checks = segment_checks(rules, dictionary.CODES, x12=x12)
    state = _start(spec.children)
    counts = [[0] * len(spec.children)]  # per open level: uses of each child so far
    # The moves and the checks are looked up by subscript, cheaper than calling ``dict.get``;
    # the KeyError comes only for a move not yet worked out, a tag the set does not define
    # or one the dictionary lacks.
    for seg in tx.segments:
        tag = seg.tag
        try:
            move = state.moves[tag]
        except KeyError:
            # A tag the set does not define has no place anywhere (and is not remembered:
            # the moves stay bounded by the set's tags whatever the input holds).
            move = _NOWHERE
            if tag in spec.tags:
                move = state.moves[tag] = _move(state, tag) or _NOWHERE
        if move is not _NOWHERE:
            state, found, depth, j, max_use, kind, pushed, trim = move
            if found is not None:  # None, not (), when the move reports nothing: a
                # test for None costs the interpreter less than a tuple's truth value
                for code, message, seg_id in found:
                    report(code, message, seg_id, seg.position)
            if trim:  # levels closed by this move
                del counts[depth + 1:]
            row = counts[depth]
            used = row[j] = row[j] + 1
            if used > max_use:
                report(kind, f"{tag} used more than {max_use} times", tag, seg.position)
            if pushed is not None:
                # One loop opened (nearly always): appended, not through `extend(map(...))`,
                # whose unknown length made it grow and then shrink the list each time.
                if len(pushed) == 1:
                    counts.append(list(pushed[0]))
                else:
                    counts.extend(map(list, pushed))
        else:
            if seg.tag not in spec.tags and not strict:
                continue  # a later directory's optional segment: not an error
            if seg.tag in spec.tags:
                report("unexpected", f"{seg.tag} is out of place", seg.tag, seg.position)
            elif seg.tag in dictionary.TAGS:
                report("foreign", f"{seg.tag} is not defined in {tx.set_id}", seg.tag,
                       seg.position)
            else:
                report("unrecognized", f"unknown segment {seg.tag}", seg.tag, seg.position)
        try:
            check = checks[tag]
        except KeyError:
            continue  # no rule for this segment: nothing to check its elements against
        # The compiled check passes a clean segment; any other goes through the full checks.
        if not check(seg):
            out.extend(check_elements(seg, rules[tag], dictionary.CODES, x12=x12,
                                      partner=partner, interchange=interchange,
                                      envelope=envelope))
    end = tx.segments[-1].position if tx.segments else 0
    for code, message, seg_id in _ends(state):
        report(code, message, seg_id, end)
    return out


# Placing a segment depends on the open levels, the child each is at and which of its
# children occurred — not on how often, except for the max-use check. So that much
# (a _State) is interned, and each (state, tag) move is worked out once by the level walk
# below and then reused: the next state, the reports it makes (at the segment's
# position), and the level and child whose use count the caller checks against max use.
_Found = tuple[tuple[str, str, str], ...]  # (kind, message, segment id)
# The reports and the opened levels' counts are None (not empty) when there are none.
_Move = tuple["_State", _Found | None, int, int, int, str, tuple[tuple[int, ...], ...] | None,
              bool]
_Key = tuple[tuple[int, int, tuple[int, ...]], ...]


class _State:
    __slots__ = ("ends", "levels", "moves")

    def __init__(self, levels: tuple[tuple[tuple[Use | Loop, ...], int, tuple[int, ...]], ...]):
        self.levels = levels  # per open level: (children, child index, which children occurred)
        self.moves: dict[str, _Move] = {}  # _NOWHERE: the tag has no place here
        self.ends: _Found | None = None  # what closing every level reports


_NOWHERE: Any = object()  # the move of a tag that has no place in the state
_STATES: dict[_Key, _State] = {}
_STATES_MAX = 50_000  # hostile input could otherwise grow the table without end
_STARTS: dict[int, _State] = {}  # id(message children) -> the state before its first segment


def _state(levels: list[_Level]) -> _State:
    key = tuple((id(lv.shape.children), lv.index, tuple([1 if c else 0 for c in lv.counts]))
                for lv in levels)
    state = _STATES.get(key)
    if state is None:
        if len(_STATES) >= _STATES_MAX:
            _STATES.clear()
            _STARTS.clear()
        state = _STATES[key] = _State(tuple(
            (lv.shape.children, lv.index, k[2]) for lv, k in zip(levels, key, strict=True)))
    return state


def _levels(state: _State) -> list[_Level]:
    levels = []
    for children, index, seen in state.levels:
        level = _Level(children)
        level.index = index
        level.counts = list(seen)
        levels.append(level)
    return levels


def _start(children: tuple[Use | Loop, ...]) -> _State:
    state = _STARTS.get(id(children))
    if state is None or state.levels[0][0] is not children:
        state = _STARTS[id(children)] = _state([_Level(children)])
    return state


def _move(state: _State, tag: str) -> _Move | None:
    levels = _levels(state)
    found: list[tuple[str, str, str]] = []
    placed = _place(levels, tag, lambda kind, message, seg_id, _p: found.append(
        (kind, message, seg_id)))
    if placed is None:
        return None
    depth, j, node = placed
    pushed = tuple(tuple(level.counts) for level in levels[depth + 1:])
    kind = "too_many" if isinstance(node, Use) else "loop"
    # The caller's counts hold one row per level open before the move.
    trim = len(state.levels) > depth + 1
    return (_state(levels), tuple(found) or None, depth, j, node.max_use, kind, pushed or None,
            trim)


def _ends(state: _State) -> _Found:
    if state.ends is None:
        found: list[tuple[str, str, str]] = []
        levels = _levels(state)
        while levels:
            _close(levels.pop(), lambda kind, message, seg_id, _p: found.append(
                (kind, message, seg_id)), 0)
        state.ends = tuple(found)
    return state.ends


def _place(levels: list[_Level], tag: str, report: _Report) -> tuple[int, int, Use | Loop] | None:
    """Place ``tag`` in the open levels: (level, child) it took, or None when nowhere.

    Reports (at position 0) what closing levels and skipping children leaves missing;
    the caller checks max use, which depends on the real count."""
    for depth in range(len(levels) - 1, -1, -1):
        level = levels[depth]
        shape = level.shape
        candidates = shape.where.get(tag)
        if candidates is None:
            continue
        # Inside a loop the trigger never repeats: a second one starts the next instance.
        index = level.index
        lowest = index if index or not depth else 1
        for j in candidates:
            if j >= lowest:
                break
        else:
            continue
        while len(levels) > depth + 1:
            _close(levels.pop(), report, 0)
        counts = level.counts
        if shape.required:
            _missing(level, index if counts[index] == 0 else index + 1, j, report, 0)
        level.index = j
        counts[j] += 1
        placed = node = shape.children[j]
        while isinstance(node, Loop):
            inner = _Level(node.children)
            inner.counts[0] = 1
            levels.append(inner)
            node = node.children[0]
        return depth, j, placed
    return None


def _first_open(level: _Level) -> int:
    return level.index if level.counts[level.index] == 0 else level.index + 1


def _close(level: _Level, report: _Report, position: int) -> None:
    _missing(level, _first_open(level), len(level.counts), report, position)


def _missing(level: _Level, start: int, stop: int, report: _Report, position: int) -> None:
    """Report each mandatory child in [start, stop) that did not occur."""
    for k in level.shape.required:
        if start <= k < stop and level.counts[k] == 0:
            node = level.shape.children[k]
            tag = node.tag if isinstance(node, Use) else node.trigger
            report("missing", f"mandatory {tag} missing", tag, position)


def validate_interchange(ic: Interchange, *, partner: str | None = None) -> Interchange:
    """Append every set's syntax findings to its ``findings``; returns ``ic``.

    Usage:
        for ic in x12.read(payload):
            validate_interchange(ic)
    """
    where = f"{'ISA' if ic.standard == 'x12' else 'UNB'} {ic.control_number}"
    for group in ic.groups:
        for tx in group.transactions:
            tx.findings.extend(validate_transaction(tx, standard=ic.standard, partner=partner,
                                                    interchange=where))
    for seg in ic.service_segments:
        rule = x12_dictionary.SEGMENTS.get(seg.tag)
        if rule is not None:
            ic.findings.extend(check_elements(seg, rule, x12_dictionary.CODES, x12=True,
                                              partner=partner, interchange=where,
                                              envelope=None))
    return ic
