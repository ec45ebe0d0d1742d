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


def _fast_check(rule: Element, codes: dict[str, frozenset[str]]) -> Callable[[str], bool] | None:
    """A predicate that is True only where ``check_value`` finds nothing; None: no shortcut.

    Built once per dictionary element. False never means invalid: ``check_value`` decides.
    """
    kind, lo, hi = rule.kind, rule.min_length, rule.max_length
    allowed = codes[rule.codes] if rule.codes is not None else None
    if kind in ("AN", "an"):
        if allowed is None:
            return lambda v: lo <= len(v) <= hi and v.isprintable()
        return lambda v: lo <= len(v) <= hi and v.isprintable() and v in allowed
    if kind == "ID":
        if allowed is None:
            return lambda v: lo <= len(v) <= hi
        return lambda v: lo <= len(v) <= hi and v in allowed
    if allowed is not None:
        return None
    if kind in ("N0", "N2"):
        # ASCII digits alone: the integer pattern matches and every character counts.
        return lambda v: v.isascii() and v.isdigit() and lo <= len(v) <= hi
    if kind == "R":
        def real(v: str) -> bool:
            d = v.replace(".", "", 1)
            return d.isascii() and d.isdigit() and lo <= len(d) <= hi
        return real
    if kind == "n":
        def numeric(v: str) -> bool:
            d = v.replace(".", "", 1)
            return v[0] != "." and d.isascii() and d.isdigit() and lo <= len(d) <= hi
        return numeric
    return None


# Per segment definition, for each element: (element index, required, fast check, rule,
# components) where components, for a composite, are (component index, required, fast
# check, rule); and for each element count, the 1-based positions of the mandatory
# elements past it (a segment stops early: the rest need only their presence checked).
_Component = tuple[int, bool, "Callable[[str], bool] | None", Element]
_Entry = tuple[int, bool, "Callable[[str], bool] | None", Element, "tuple[_Component, ...] | None"]
_Plan = tuple[tuple[_Entry, ...], tuple[tuple[int, ...], ...]]
_PLANS: dict[int, tuple[SegmentDef, dict[str, frozenset[str]], _Plan]] = {}


def _plan(rule: SegmentDef, codes: dict[str, frozenset[str]]) -> _Plan:
    cached = _PLANS.get(id(rule))
    if cached is not None and cached[0] is rule and cached[1] is codes:
        return cached[2]
    entries: tuple[_Entry, ...] = tuple(
        (index, element.required, None, element, tuple(
            (c, component.required, _fast_check(component, codes), component)
            for c, component in enumerate(element.components)))
        if element.kind == "C" else
        (index, element.required, _fast_check(element, codes), element, None)
        for index, element in enumerate(rule.elements)
    )
    mandatory = [index + 1 for index, element in enumerate(rule.elements) if element.required]
    missing_after = tuple(tuple(p for p in mandatory if p > count)
                          for count in range(len(entries) + 1))
    plan: _Plan = (entries, missing_after)
    _PLANS[id(rule)] = (rule, codes, plan)
    return plan


def _length(rule: Element, length: int) -> str | None:
    if length < rule.min_length:
        return "short"
    if length > rule.max_length:
        return "long"
    return None


def _date(value: str) -> str | None:
    if not _DIGITS.fullmatch(value) or len(value) not in (6, 8):
        return "date"
    return None if _is_date(value, "%Y%m%d" if len(value) == 8 else "%y%m%d") else "date"


def _is_date(value: str, layout: str) -> bool:
    """``strptime(value, layout)`` succeeds; ASCII CCYYMMDD / YYMMDD are cut by hand.

    For all-digit input strptime accepts exactly the two-digit months 01-12 and days of
    that month, with %y 00-68 read as 20xx and 69-99 as 19xx: ``date()`` checks the same.
    """
    if value.isascii() and value.isdigit():
        if layout == "%Y%m%d" and len(value) == 8:
            year = int(value[:4])
        elif layout == "%y%m%d" and len(value) == 6:
            year = int(value[:2])
            year += 2000 if year < 69 else 1900
        else:
            year = 0
        if year:
            try:
                dt.date(year, int(value[-4:-2]), int(value[-2:]))
            except ValueError:
                return False
            return True
    try:
        dt.datetime.strptime(value, layout)
    except ValueError:
        return False
    return True


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
    elements = seg.elements
    count = len(elements)
    problems: list[tuple[str, int, int | None, str | None]] = []
    entries, missing_after = _plan(rule, codes)
    for index, required, fast, element, components in entries[:count]:
        first = elements[index][0]
        if components is not None:
            if not any(first):
                if required:
                    problems.append(("missing", index + 1, None, None))
                continue
            width = len(first)
            for c, component_required, component_fast, component in components:
                value = first[c] if c < width else ""
                if not value:
                    if component_required:
                        problems.append(("missing", index + 1, c + 1, None))
                    continue
                if component_fast is not None and component_fast(value):
                    continue
                problem = check_value(component, value, codes)
                if problem:
                    problems.append((problem, index + 1, c + 1, value))
            continue
        value = first[0] if first else ""
        if not value:
            if required:
                problems.append(("missing", index + 1, None, None))
            continue
        if fast is not None and fast(value) and (not x12 or len(first) == 1):
            continue
        problem = check_value(element, value, codes)
        if problem is None and x12 and len(first) > 1:
            problem = "char"  # a component separator inside a simple element
        if problem:
            problems.append((problem, index + 1, None, value))
    if count < len(missing_after):
        for position in missing_after[count]:
            problems.append(("missing", position, None, None))
    if not problems and (x12 or seg.tag != "DTM"):
        return []
    out: list[Finding] = []

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
    if not _is_date(value, layout):
        report("date", 1, 2, value)
