"""One compiled function per dictionary segment that recognises a plainly valid segment.

``check_elements`` walks a table of element rules for every segment it checks, about a
microsecond per element. Most segments are clean, so each ``SegmentDef`` is also turned,
once, into straight-line Python (``compile`` of generated source, as ``dataclasses`` and
``attrs`` build their methods) with every element's position, length, type and code list
written in as constants. It answers True only where ``check_elements`` would find
nothing; on False the segment goes through ``check_elements`` as before, so findings
come from one place whatever the shortcut does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from connectors.formats.dictionary import Element, SegmentDef
from connectors.formats.segments import Segment
from connectors.formats.validator_elements import _DATE_LAYOUTS, _is_date, check_value

__all__ = ["segment_checks"]

# segment -> no finding for this segment
SegmentCheck = Callable[[Segment], bool]

_COMPILED: dict[int, tuple[dict[str, SegmentDef], dict[str, frozenset[str]], dict[str, SegmentCheck]]] = {}


def segment_checks(
    segments: dict[str, SegmentDef], codes: dict[str, frozenset[str]], *, x12: bool
) -> dict[str, SegmentCheck]:
    """Tag → compiled check for every segment of a dictionary (built once per dictionary)."""
    cached = _COMPILED.get(id(segments))
    if cached is not None and cached[0] is segments and cached[1] is codes:
        return cached[2]
    checks = {tag: _compile(rule, codes, x12=x12) for tag, rule in segments.items()}
    _COMPILED[id(segments)] = (segments, codes, checks)
    return checks


def _ccyymmdd(v: str) -> bool:
    # ``_date`` accepts an ASCII CCYYMMDD when it is a real date in a year from 1 on.
    if len(v) != 8 or not (v.isascii() and v.isdigit()):
        return False
    year = int(v[:4])
    if not year:
        return False
    try:
        dt.date(year, int(v[4:6]), int(v[6:]))
    except ValueError:
        return False
    return True


def _edifact_date(elements: list[list[list[str]]]) -> bool:
    """``_check_edifact_date`` finds nothing (DTM C507: 2380 read by the layout in 2379)."""
    try:
        first = elements[0][0]
    except IndexError:
        return True
    layout = _DATE_LAYOUTS.get(first[2] if len(first) > 2 else "")
    value = first[1] if len(first) > 1 else None
    if layout is None or not value:
        return True
    return _is_date(value, layout)


def _length(var: str, lo: int, hi: int) -> str:
    """``lo <= len(var) <= hi`` for a non-empty ``var``, in as few steps as that allows."""
    if lo == hi:
        return f"len({var}) == {lo}"
    if lo <= 1:
        return f"len({var}) <= {hi}"
    return f"{lo} <= len({var}) <= {hi}"


def _expr(rule: Element, codes: dict[str, frozenset[str]], ns: dict[str, Any], name: str) -> str:
    """A Python expression over ``x`` (non-empty) that is True only if ``check_value`` finds nothing."""
    kind, lo, hi = rule.kind, rule.min_length, rule.max_length
    allowed = codes[rule.codes] if rule.codes is not None else None
    member = ""
    if allowed is not None:
        ns["C" + name] = allowed
        member = f" and x in C{name}"
    if kind in ("AN", "an", "ID"):
        printable = kind != "ID"
        if allowed is not None and all(lo <= len(c) <= hi and (c.isprintable() or not printable)
                                       for c in allowed):
            return f"x in C{name}"  # every code has a valid length (and is printable)
        return _length("x", lo, hi) + (" and x.isprintable()" if printable else "") + member
    if allowed is None and kind in ("N0", "N2"):
        return f"x.isascii() and x.isdigit() and {_length('x', lo, hi)}"
    if allowed is None and kind in ("R", "n"):
        # As _fast_check's real() (and numeric(), which also refuses a leading '.'): with one
        # '.' taken out, one or more ASCII digits, lo..hi of them. Stripping the ASCII digits
        # from both ends leaves '' exactly when x is all ASCII digits, and '.' exactly when it
        # is digits, one '.', digits (then it has len(x) - 1 digits, at least one wanted):
        # one call instead of replace, isascii and isdigit.
        dotted = f"r == '.' and {_length('x', max(lo, 1) + 1, hi + 1)}"
        if kind == "n":
            dotted = f"r == '.' and x[0] != '.' and {_length('x', max(lo, 1) + 1, hi + 1)}"
        return f"((r := x.strip(DIGITS)) == '' and {_length('x', lo, hi)} or {dotted})"
    if allowed is None and kind == "DT" and lo <= 8 <= hi:
        return "_ccyymmdd(x)"
    if allowed is None and kind == "TM" and hi >= 4:
        return (f"x.isascii() and x.isdigit() and {max(lo, 4)} <= len(x) <= {hi} and "
                "x[:2] <= '23' and x[2:4] <= '59' and (len(x) < 6 or x[4:6] <= '59')")
    ns["R" + name] = rule
    return f"_check(R{name}, x, CODES) is None"


def _compile(rule: SegmentDef, codes: dict[str, frozenset[str]], *, x12: bool) -> SegmentCheck:
    ns: dict[str, Any] = {"_ccyymmdd": _ccyymmdd, "DIGITS": "0123456789",
                          "_check": check_value, "CODES": codes, "_edifact_date": _edifact_date}
    lines = ["def check(seg):", "    els = seg._elements"]
    if x12:  # the reader keeps an X12 segment of simple elements as the flat values
        lines += ["    if els is None:", "        els = seg.values"]
        lines += ["    " + line for line in _body(rule, codes, ns, flat=True, x12=x12)]
    else:
        lines += ["    if els is None:", "        els = seg.elements"]
    lines += _body(rule, codes, ns, flat=False, x12=x12)
    exec(compile("\n".join(lines), f"<segment check {rule.tag}>", "exec"), ns)
    check: SegmentCheck = ns["check"]
    return check


def _body(rule: SegmentDef, codes: dict[str, frozenset[str]], ns: dict[str, Any], *,
          flat: bool, x12: bool) -> list[str]:
    """Statements over ``els``: the nested elements, or (``flat``) one value per element."""
    # ``check_elements`` reports a mandatory element past the last one the segment carries.
    least = max((i + 1 for i, e in enumerate(rule.elements) if e.required), default=0)
    lines = ["    n = len(els)"]
    if least:
        lines += [f"    if n < {least}:", "        return False"]
    pad = "    "
    for i, element in enumerate(rule.elements):
        if i >= least:
            # Past the last mandatory element the segment may end: nothing further to check.
            lines += [f"    if n <= {i}:", "        return True" if x12 or rule.tag != "DTM"
                      else "        return _edifact_date(els)"]
        if element.kind == "C":
            # A flat value is the composite's only component: any(f) is the value itself.
            if flat:
                lines += [f"{pad}x = els[{i}]", f"{pad}if x:"]
            else:  # any(f) is asked only when the first component is empty
                lines += [f"{pad}f = els[{i}][0]", f"{pad}w = len(f)", f"{pad}x = f[0] if w else ''",
                          f"{pad}if x or any(f):"]
            lines.append(f"{pad}    pass")
            inner = pad  # the nested components below are read only while the composite has them
            for c, component in enumerate(element.components):
                if flat and c:
                    if component.required:
                        lines.append(f"{pad}    return False")
                    continue
                if not flat and c:
                    # Past the composite's last component every value is empty: only a
                    # mandatory one left makes a finding. Written `if w <= c: … else:` so
                    # that the test's jump is short (Python 3.11 specialises a comparison
                    # only when the jump after it is).
                    rest = any(k.required for k in element.components[c:])
                    lines += [f"{inner}    if w <= {c}:",
                              f"{inner}        {'return False' if rest else 'pass'}",
                              f"{inner}    else:", f"{inner}        x = f[{c}]"]
                    inner += "    "
                lines += [f"{inner}    if x:",
                          f"{inner}        if not ({_expr(component, codes, ns, f'{i}_{c}')}):",
                          f"{inner}            return False"]
                if component.required:
                    lines += [f"{inner}    else:", f"{inner}        return False"]
            if element.required:
                lines += [f"{pad}else:", f"{pad}    return False"]
            continue
        if flat:
            lines.append(f"{pad}x = els[{i}]")
        else:
            lines += [f"{pad}f = els[{i}][0]", f"{pad}x = f[0] if f else ''"]
        lines += [f"{pad}if x:", f"{pad}    if not ({_expr(element, codes, ns, str(i))}):",
                  f"{pad}        return False"]
        if x12 and not flat:  # a component separator inside a simple X12 element is an error
            lines += [f"{pad}    if len(f) != 1:", f"{pad}        return False"]
        if element.required:
            lines += [f"{pad}else:", f"{pad}    return False"]
    if not x12 and rule.tag == "DTM":
        lines.append("    return _edifact_date(els)")
    else:
        lines.append("    return True")
    return lines
