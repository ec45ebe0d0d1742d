"""Named value transforms: an EDI string ↔ a canonical value, one pair per name.

A map names them as ``transform: date:CCYYMMDD`` (name, colon, argument). Each has a
reader (``str`` → value, raising ``ValueError`` on bad input, which becomes a finding
that names the segment and the field) and a writer (value → ``str``).

Usage:
    >>> from mappings.transforms import get_transform
    >>> t = get_transform("implied:2")
    >>> t.read("12500", None), t.write(t.read("12500", None))
    (Decimal('125'), '12500')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from connectors.formats.segments import Segment

__all__ = ["Transform", "decimal_text", "get_transform", "transform_names"]

Reader = Callable[[str, Segment | None], Any]
Writer = Callable[[Any], str]


@dataclass(frozen=True, slots=True)
class Transform:
    name: str
    read: Reader
    write: Writer


def decimal_text(value: Decimal) -> str:
    """Shortest plain form: ``5`` not ``5.00``, ``0.1`` not ``1E-1`` (senders write it so)."""
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return format(value.normalize(), "f")


def _decimal(text: str, _seg: Segment | None) -> Decimal:
    try:
        value = Decimal(text)  # Decimal allows surrounding blanks itself
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{text!r} is not a number")
    return value


def _money_text(value: Any) -> str:
    # Unit prices may carry more than cents (0.125 per each); never round those away.
    d = Decimal(value)
    return str(d.quantize(Decimal("0.01"))) if d == d.quantize(Decimal("0.01")) else decimal_text(d)


def _implied(places: int) -> Transform:
    scale = Decimal(10) ** places

    def read(text: str, seg: Segment | None) -> Decimal:
        return _decimal(text, seg) / scale

    def write(value: Any) -> str:
        return str(int((Decimal(value) * scale).to_integral_value()))

    return Transform(f"implied:{places}", read, write)


_DATE_FORMATS = {
    "CCYYMMDD": "%Y%m%d", "102": "%Y%m%d",
    "YYMMDD": "%y%m%d", "101": "%y%m%d",
    "CCYYMMDDHHMM": "%Y%m%d%H%M", "203": "%Y%m%d%H%M",
}


def _date(fmt: str) -> Transform:
    pattern = _DATE_FORMATS[fmt]

    def read(text: str, _seg: Segment | None) -> date:
        # strptime is slow; an eight-digit CCYYMMDD (most dates on the wire) is cut by hand.
        if pattern == "%Y%m%d" and len(text) == 8 and text.isdigit():
            try:
                return date(int(text[:4]), int(text[4:6]), int(text[6:]))
            except ValueError:
                raise ValueError(f"{text!r} is not a date in format {fmt}") from None
        try:
            return datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            raise ValueError(f"{text!r} is not a date in format {fmt}") from None

    def write(value: Any) -> str:
        return value.strftime(pattern) if isinstance(value, date) else str(value)

    return Transform(f"date:{fmt}", read, write)


_DATES = {fmt: _date(fmt) for fmt in _DATE_FORMATS}  # built once, not per DTM read


def _edifact_dtm(text: str, seg: Segment | None) -> date:
    # DTM C507: the format qualifier (2379) travels beside the value, so read it there.
    fmt = (seg.get(1, 3) if seg is not None else None) or "102"
    if fmt not in _DATE_FORMATS:
        raise ValueError(f"date format qualifier {fmt!r} is not supported (102, 101, 203)")
    value: date = _DATES[fmt].read(text, seg)
    return value


def _iso_date(text: str, _seg: Segment | None) -> date:
    # Web shops send 2026-11-23 or a full timestamp; the calendar date is what an order keeps.
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO date") from None


def _int(text: str, seg: Segment | None) -> int:
    value = _decimal(text, seg)
    if value != value.to_integral_value():
        raise ValueError(f"{text!r} is not a whole number")
    return int(value)


_SIMPLE: dict[str, Transform] = {
    "decimal": Transform("decimal", _decimal, lambda v: decimal_text(Decimal(v))),
    "money": Transform("money", _decimal, _money_text),
    "int": Transform("int", _int, lambda v: str(int(v))),
    "trim": Transform("trim", lambda t, _s: t.strip(), lambda v: str(v).strip()),
    "upper": Transform("upper", lambda t, _s: t.strip().upper(), lambda v: str(v).upper()),
    "dtm": Transform("dtm", _edifact_dtm, _date("102").write),
    "iso_date": Transform("iso_date", _iso_date, lambda v: v.isoformat() if isinstance(v, date) else str(v)),
}


@cache
def get_transform(spec: str) -> Transform:
    """Resolve ``name`` or ``name:arg``; raises KeyError naming the known transforms."""
    name, _, arg = spec.partition(":")
    if name in _SIMPLE and not arg:
        return _SIMPLE[name]
    if name == "date" and arg in _DATE_FORMATS:
        return _date(arg)
    if name == "implied" and arg.isdigit():
        return _implied(int(arg))
    raise KeyError(f"unknown transform {spec!r} (known: {', '.join(transform_names())})")


def transform_names() -> list[str]:
    dates = [f"date:{f}" for f in _DATE_FORMATS]
    return sorted(_SIMPLE) + dates + ["implied:N"]
