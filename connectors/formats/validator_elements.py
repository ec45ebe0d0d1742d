"""Element checks: presence, length, data type, date/time and code list.

X12 types N0/N2 (implied decimals), R (explicit decimal), ID (code), AN, DT, TM; EDIFACT
a, n and an. Lengths count digits only for numbers, as both standards do.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from canonical.errors import Finding
from connectors.formats._findings import finding
from connectors.formats.dictionary import Element, SegmentDef
from connectors.formats.segments import Segment

__all__ = ["check_elements", "check_value"]

# Problem → X12 AK403 (723) code / EDIFACT 0085 code.
X12_CODES = {"missing": "1", "short": "4", "long": "5", "char": "6", "code": "7",
             "date": "8", "time": "9"}
EDIFACT_CODES = {"missing": "13", "short": "40", "long": "39", "char": "37", "code": "12",
                 "date": "12", "time": "12", "digit": "38"}
_MESSAGES = {"missing": "mandatory element missing", "short": "too short", "long": "too long",
             "char": "invalid character", "code": "invalid code value", "date": "invalid date",
             "time": "invalid time", "digit": "missing digit in front of the decimal sign"}

# (problem, element position, component position, value)
_Reporter = Callable[[str, int, "int | None", "str | None"], None]

_INTEGER = re.compile(r"-?\d+")
_REAL = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)")
_NUMERIC = re.compile(r"-?(?:\d+(?:[.,]\d*)?|[.,]\d+)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DIGITS = re.compile(r"\d+")
_DATE_LAYOUTS = {"101": "%y%m%d", "102": "%Y%m%d", "203": "%Y%m%d%H%M", "204": "%Y%m%d%H%M%S",
                 "201": "%y%m%d%H%M"}


def _digits(value: str) -> int:
    # Only called on values already matched as numbers: everything else is a digit.
    return len(value) - value.count("-") - value.count(".") - value.count(",")


def check_value(rule: Element, value: str, codes: dict[str, frozenset[str]]) -> str | None:
    """What is wrong with a non-empty ``value`` under ``rule`` (a key of X12_CODES), or None."""
    kind = rule.kind
    length = len(value)
    if kind == "AN" or kind == "an":
        if _CONTROL.search(value):
            return "char"
    elif kind == "ID":
        if rule.codes is not None and value not in codes[rule.codes]:
            return "code"
    elif kind == "N0" or kind == "N2":
        if not _INTEGER.fullmatch(value):
            return "char"
        length = _digits(value)
    elif kind == "R":
        if not _REAL.fullmatch(value):
            return "char"
        length = _digits(value)
    elif kind == "n":
        if not _NUMERIC.fullmatch(value):
            return "char"
        if value.lstrip("-")[:1] in (".", ","):
            return "digit"
        length = _digits(value)
    elif kind == "a":
        if any(ch.isdigit() for ch in value):
            return "char"
    elif kind == "DT":
        return _date(value) or _length(rule, length)
    elif kind == "TM":
        return _time(value) or _length(rule, length)
    problem = _length(rule, length)
    if problem is None and rule.codes is not None and kind != "ID" \
            and value not in codes[rule.codes]:
        return "code"
    return problem


def _plainly_valid(rule: Element, value: str, codes: dict[str, frozenset[str]]) -> bool:
    """The common cases decided without a call per check (the hot path of validation)."""
    kind = rule.kind
    if kind == "AN" or kind == "an":
        return rule.min_length <= len(value) <= rule.max_length and value.isprintable() and (
            rule.codes is None or value in codes[rule.codes])
    if kind == "ID":
        return rule.min_length <= len(value) <= rule.max_length and (
            rule.codes is None or value in codes[rule.codes])
    return False


def _length(rule: Element, length: int) -> str | None:
    if length < rule.min_length:
        return "short"
    if length > rule.max_length:
        return "long"
    return None


def _date(value: str) -> str | None:
    if not _DIGITS.fullmatch(value) or len(value) not in (6, 8):
        return "date"
    try:
        dt.datetime.strptime(value, "%Y%m%d" if len(value) == 8 else "%y%m%d")
    except ValueError:
        return "date"
    return None


def _time(value: str) -> str | None:
    if not _DIGITS.fullmatch(value) or len(value) < 4:
        return "time"
    if int(value[:2]) > 23 or int(value[2:4]) > 59 or (len(value) >= 6 and int(value[4:6]) > 59):
        return "time"
    return None


def check_elements(
    seg: Segment, rule: SegmentDef, codes: dict[str, frozenset[str]], *, x12: bool,
    partner: str | None, interchange: str | None, envelope: str | None,
) -> list[Finding]:
    """Findings for the elements of one segment."""
    out: list[Finding] = []
    elements = seg.elements
    count = len(elements)
    problems: list[tuple[str, int, int | None, str | None]] = []
    for index, element in enumerate(rule.elements):
        first = elements[index][0] if index < count else None
        if element.kind == "C":
            if first is None or not any(first):
                if element.required:
                    problems.append(("missing", index + 1, None, None))
                continue
            width = len(first)
            for c, component in enumerate(element.components):
                value = first[c] if c < width else ""
                if not value:
                    if component.required:
                        problems.append(("missing", index + 1, c + 1, None))
                    continue
                if _plainly_valid(component, value, codes):
                    continue
                problem = check_value(component, value, codes)
                if problem:
                    problems.append((problem, index + 1, c + 1, value))
            continue
        value = first[0] if first else ""
        if not value:
            if element.required:
                problems.append(("missing", index + 1, None, None))
            continue
        if _plainly_valid(element, value, codes) and (not x12 or len(first or ()) == 1):
            continue
        problem = check_value(element, value, codes)
        if problem is None and x12 and len(first or ()) > 1:
            problem = "char"  # a component separator inside a simple element
        if problem:
            problems.append((problem, index + 1, None, value))

    def report(problem: str, position: int, component: int | None, value: str | None) -> None:
        table = X12_CODES if x12 else EDIFACT_CODES
        out.append(finding(
            ("x12.ak4." if x12 else "edifact.0085.") + table.get(problem, "12"),
            f"{seg.tag}{position:02d}: {_MESSAGES[problem]}", partner=partner,
            interchange=interchange, envelope=envelope, segment_id=seg.tag,
            segment_position=seg.position, element_position=position,
            component_position=component, value=value))

    for found in problems:
        report(*found)
    if not x12 and seg.tag == "DTM":
        _check_edifact_date(seg, report)
    return out


def _check_edifact_date(seg: Segment, report: _Reporter) -> None:
    layout = _DATE_LAYOUTS.get(seg.get(1, 3) or "")
    value = seg.get(1, 2)
    if layout is None or value is None:
        return
    try:
        dt.datetime.strptime(value, layout)
    except ValueError:
        report("date", 1, 2, value)
