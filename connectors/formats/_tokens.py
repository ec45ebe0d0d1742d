"""Bytes-to-segments tokenizing shared by the X12 and EDIFACT codecs.

The hot path of every inbound document, so it is written around ``str.split`` on the
known delimiters: per-character work happens only in a segment that actually contains
a release character (EDIFACT) or a composite/repetition separator.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager

from connectors.formats.model import Delimiters
from connectors.formats.segments import Segment

__all__ = [
    "escape_edifact", "no_gc", "split_edifact", "split_released", "split_x12", "unescape",
]

_NEWLINES = "\r\n"


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while one interchange is tokenized.

    Tokenizing allocates tens of thousands of small lists that all stay reachable, so
    every collection triggered meanwhile scans them in vain; measured, that tripled the
    cost of reading. Nothing built here forms a cycle, and reference counting still
    frees everything as usual.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def split_x12(text: str, d: Delimiters) -> list[Segment]:
    """Every segment of ``text`` (no trailing terminator needed), positions left at 0."""
    element, component, repetition, term = d.element, d.component, d.repetition, d.segment
    out: list[Segment] = []
    append = out.append
    strip_cr = term == "\n"
    # Per segment only where the text holds a component or repetition separator at all.
    nested = component in text or (repetition is not None and repetition in text)
    new = Segment.__new__
    strip = True
    pieces = None
    if term not in _NEWLINES:
        # Most senders break the line after each terminator. Stripping each segment's
        # leading line breaks is all the loop below would do with them, so when no other
        # CR or LF is left they go in three passes over the text instead.
        lean = text.lstrip(_NEWLINES).replace(term + "\r\n", term).replace(term + "\n", term)
        if "\n" not in lean and "\r" not in lean:
            pieces, strip = lean.split(term), False
    for raw in pieces if pieces is not None else text.split(term):
        if not raw or (strip and (raw[:1] in _NEWLINES or strip_cr)):
            raw = raw.strip(_NEWLINES)
            if not raw:
                continue
        parts = raw.split(element)
        if nested and (component in raw or (repetition is not None and repetition in raw)):
            elements = [_x12_element(p, component, repetition) for p in parts[1:]]
            append(Segment(parts[0], elements))
        else:
            # Segment.flat written out: this runs for nearly every segment read.
            seg = new(Segment)
            seg.tag = parts.pop(0)
            seg._elements = None
            seg.values = parts
            seg.position = 0
            append(seg)
    return out


def _x12_element(value: str, component: str, repetition: str | None) -> list[list[str]]:
    reps = value.split(repetition) if repetition is not None and repetition in value else [value]
    return [r.split(component) for r in reps]


def split_released(text: str, sep: str, release: str) -> list[str]:
    """``text.split(sep)`` except where ``sep`` is escaped by an odd run of ``release``.

    Escapes are kept: the pieces are split further before ``unescape`` runs.
    """
    parts = text.split(sep)
    if release + sep not in text:
        return parts  # no piece ends in the release character: nothing to join
    out: list[str] = []
    pending: str | None = None
    for piece in parts:
        if pending is not None:
            piece = pending + sep + piece
        # Most pieces do not end in the release character: no run to count.
        if piece[-1:] == release and (len(piece) - len(piece.rstrip(release))) % 2:
            pending = piece  # the last release character escapes this separator
        else:
            out.append(piece)
            pending = None
    if pending is not None:
        out.append(pending)
    return out


_UNESCAPE_CACHE: dict[str, re.Pattern[str]] = {}


def unescape(value: str, release: str) -> str:
    """Drop each release character, keeping the character it escapes."""
    pattern = _UNESCAPE_CACHE.get(release)
    if pattern is None:
        pattern = _UNESCAPE_CACHE[release] = re.compile(re.escape(release) + "(.)", re.DOTALL)
    return pattern.sub(r"\1", value)


def split_edifact(text: str, d: Delimiters) -> list[Segment]:
    """Every segment of ``text`` (after any UNA), honouring the release character."""
    element, component, release = d.element, d.component, d.release
    repetition = d.repetition
    term = d.segment
    out: list[Segment] = []
    append = out.append
    new = Segment.__new__
    strip = True
    pieces = None
    rel = release or ""  # "" only when there is none (a UNA never declares it so)
    released = bool(rel) and rel in text
    if term not in _NEWLINES and not (released and (rel + term in text or rel == term
                                                    or rel in _NEWLINES)):
        # As in split_x12: the line breaks after terminators go in three passes over the
        # text when no other CR or LF is left (and no terminator is released, so none of
        # those breaks is data), instead of stripping every segment.
        lean = text.lstrip(_NEWLINES).replace(term + "\r\n", term).replace(term + "\n", term)
        if "\n" not in lean and "\r" not in lean:
            pieces, strip = lean.split(term), False
    if pieces is None:
        pieces = split_released(text, term, rel) if released else text.split(term)
    for raw in pieces:
        if not raw or (strip and (raw[:1] in _NEWLINES or raw[-1:] in _NEWLINES)):
            raw = raw.strip(_NEWLINES)
            if not raw:
                continue
        if released and rel in raw:
            append(_released_segment(raw, d, rel))
            continue
        parts = raw.split(element)
        tag = parts.pop(0)
        if repetition is not None and repetition in raw:
            elements = [[r.split(component) for r in p.split(repetition)] for p in parts]
        else:
            # Loops rather than comprehensions: a segment has a handful of elements, and a
            # comprehension makes a function and a frame each time it runs. Each element is
            # split on the component separator without asking first whether the segment
            # holds one: nearly every EDIFACT segment does (DTM, NAD, LIN, QTY, PRI, ...), and
            # the question cost more than the split it spares the others.
            elements = []
            for p in parts:
                elements.append([p.split(component)])
        # Segment(tag, elements) written out: this runs for every segment read.
        seg = new(Segment)
        seg.tag = tag
        seg._elements = elements
        seg.values = None
        seg.position = 0
        append(seg)
    return out


def _released_segment(raw: str, d: Delimiters, release: str) -> Segment:
    # A segment holding a release character (a ``?+`` in free text, say): only the
    # elements and components that hold one need the escape-aware split and unescape;
    # the others are split as in split_edifact.
    component, repetition = d.component, d.repetition
    parts = split_released(raw, d.element, release)
    tag = parts.pop(0)
    elements: list[list[list[str]]] = []
    for p in parts:
        if release not in p:
            if repetition and repetition in p:
                elements.append([r.split(component) for r in p.split(repetition)])
            else:
                elements.append([p.split(component)])
            continue
        reps = split_released(p, repetition, release) if repetition else [p]
        elements.append([
            [unescape(c, release) if release in c else c
             for c in split_released(r, component, release)] for r in reps
        ])
    return Segment(unescape(tag, release) if release in tag else tag, elements)


_ESCAPE_TABLES: dict[Delimiters, dict[int, str]] = {}


def escape_edifact(value: str, d: Delimiters) -> str:
    """``value`` with every service character preceded by the release character."""
    table = _ESCAPE_TABLES.get(d)
    if table is None:
        release = d.release or "?"
        chars = {release, d.element, d.component, d.segment}
        if d.repetition:
            chars.add(d.repetition)
        table = _ESCAPE_TABLES[d] = {ord(c): release + c for c in chars}
    return value.translate(table)
