"""The shape of a data dictionary, and the compact notation the dictionaries are written in.

A transaction set / message is a tree of segment uses and loops; a segment is a tuple of
elements, each simple or composite. The notation keeps each dictionary one screen per set:

Structure, one use per line, loops by indentation (the first child triggers the loop)::

    ST M 1
    BEG M 1
    +N1 O 200
      N1 M 1
      N3 O 2

Elements, ``;`` between elements, ``[ , ]`` around a composite's components::

    X12:      "M ID 2 2 @353; M AN 1 22; O DT 8 8"
    EDIFACT:  "M [M an..3 @1001, C an..35]; C an..3 @1225"
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Element", "Loop", "MessageDef", "SegmentDef", "Use", "parse_edifact_elements",
    "parse_structure", "parse_x12_elements",
]

UNBOUNDED = 999_999


@dataclass(frozen=True, slots=True)
class Element:
    required: bool
    kind: str  # X12: N0 N2 R ID AN DT TM; EDIFACT: a n an; "C" for an unchecked composite
    min_length: int
    max_length: int
    codes: str | None = None  # a code list name in the dictionary's CODES
    components: tuple[Element, ...] = ()


@dataclass(frozen=True, slots=True)
class SegmentDef:
    tag: str
    elements: tuple[Element, ...]


@dataclass(frozen=True, slots=True)
class Use:
    tag: str
    required: bool
    max_use: int


@dataclass(frozen=True, slots=True)
class Loop:
    name: str
    required: bool
    max_use: int
    children: tuple[Use | Loop, ...]

    @property
    def trigger(self) -> str:
        first = self.children[0]
        return first.tag if isinstance(first, Use) else first.trigger


@dataclass(frozen=True, slots=True)
class MessageDef:
    set_id: str
    children: tuple[Use | Loop, ...]
    tags: frozenset[str] = field(default_factory=frozenset)  # every tag the set defines


def _max(text: str) -> int:
    return UNBOUNDED if text.startswith(">") else int(text)


def parse_structure(set_id: str, text: str) -> MessageDef:
    """A ``MessageDef`` from the indented structure notation."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    stack: list[tuple[int, list[Use | Loop], tuple[str, bool, int] | None]] = [(-1, [], None)]
    tags: set[str] = set()
    for line in lines:
        indent = len(line) - len(line.lstrip())
        while indent <= stack[-1][0]:
            _close(stack)
        name, req, count = line.split()
        if name.startswith("+"):
            stack.append((indent, [], (name[1:], req == "M", _max(count))))
        else:
            stack[-1][1].append(Use(name, req == "M", _max(count)))
            tags.add(name)
    while len(stack) > 1:
        _close(stack)
    return MessageDef(set_id, tuple(stack[0][1]), frozenset(tags))


def _close(stack: list[tuple[int, list[Use | Loop], tuple[str, bool, int] | None]]) -> None:
    _, children, head = stack.pop()
    assert head is not None  # the root is never closed
    stack[-1][1].append(Loop(head[0], head[1], head[2], tuple(children)))


def parse_x12_elements(text: str) -> tuple[Element, ...]:
    """``"M ID 2 2 @353; O AN 1 30"`` → elements (``O C`` is an unchecked composite)."""
    return tuple(_x12(part.split()) for part in text.split(";"))


def _x12(words: list[str]) -> Element:
    required = words[0] == "M"
    if words[1] == "C":
        return Element(required, "C", 0, 0)
    codes = words[4][1:] if len(words) > 4 else None
    return Element(required, words[1], int(words[2]), int(words[3]), codes)


def parse_edifact_elements(text: str) -> tuple[Element, ...]:
    """``"M [M an..3 @1001, C an..35]; C n..15"`` → elements."""
    return tuple(_edifact(part.strip()) for part in text.split(";"))


def _edifact(spec: str) -> Element:
    required = spec[0] == "M"
    rest = spec[1:].strip()
    if rest.startswith("["):
        parts = rest[1:-1].split(",")
        return Element(required, "C", 0, 0, None, tuple(_edifact(p.strip()) for p in parts))
    words = rest.split()
    fmt, codes = words[0], (words[1][1:] if len(words) > 1 else None)
    if ".." in fmt:
        kind, length = fmt.split("..")
        return Element(required, kind, 1, int(length), codes)
    kind = fmt.rstrip("0123456789")
    size = int(fmt[len(kind):])
    return Element(required, kind, size, size, codes)
