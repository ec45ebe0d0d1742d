"""The segment model shared by the X12 and EDIFACT codecs and the mapping engine.

Positions are 1-based as in the standards' documentation: ``seg.get(1)`` is the first
data element after the tag (X12 ``BEG01``, EDIFACT ``BGM`` 1st element), ``seg.get(2, 1)``
the first component of the second element.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Segment"]


class Segment:
    """One segment: its tag, its elements (element → repetition → component), its position.

    A simple element is ``[[value]]``. Most X12 segments hold only simple elements; the
    reader keeps those as the flat list of values (``values``) and builds ``elements``
    from it the first time anything asks, so a clean interchange is validated and mapped
    from the flat lists without ever allocating the nested ones — three lists per element
    that kept the garbage collector busy on every X12 interchange. The validator's and
    the mapper's compiled paths read the slots directly: ``_elements`` is None exactly
    while ``values`` holds the segment.
    """

    __slots__ = ("_elements", "position", "tag", "values")
    __match_args__ = ("tag", "elements", "position")
    _elements: list[list[list[str]]] | None

    def __init__(self, tag: str, elements: list[list[list[str]]] | None = None,
                 position: int = 0) -> None:
        self.tag = tag
        self._elements = [] if elements is None else elements
        # The simple element values while ``elements`` is not built (None once it is).
        self.values: list[str] | None = None
        self.position = position  # position within its transaction set / message (header = 1)

    @classmethod
    def flat(cls, tag: str, values: list[str]) -> Segment:
        """A segment of simple elements only, ``elements`` built from ``values`` on first use."""
        seg = cls.__new__(cls)
        seg.tag = tag
        seg._elements = None
        seg.values = values
        seg.position = 0
        return seg

    @property
    def elements(self) -> list[list[list[str]]]:
        elements = self._elements
        if elements is None:
            elements = self._elements = [[[v]] for v in self.values or ()]
            self.values = None
        return elements

    @elements.setter
    def elements(self, elements: list[list[list[str]]]) -> None:
        self._elements = elements
        self.values = None

    def get(self, element: int, component: int = 1, repetition: int = 1) -> str | None:
        """The value at (element, component, repetition), or None when absent or empty."""
        elements = self._elements
        if elements is None:
            values = self.values or []
            if 0 < element <= len(values) and component == 1 and repetition == 1:
                return values[element - 1] or None  # the usual question, answered first
            # As the nested lookup below on [[value]]: one repetition of one component,
            # so index 0 (or -1) only.
            if element - 1 >= len(values) or element - 1 < -len(values) \
                    or component not in (0, 1) or repetition not in (0, 1):
                return None
            return values[element - 1] or None
        try:
            value = elements[element - 1][repetition - 1][component - 1]
        except IndexError:
            return None
        return value or None

    def element_count(self) -> int:
        return len(self.elements if self._elements is not None else self.values or ())

    @classmethod
    def simple(cls, tag: str, *values: str | list[str] | None) -> Segment:
        """Build a segment from plain values; a list is a composite. Trailing empties trimmed."""
        elements: list[list[list[str]]] = []
        for v in values:
            if v is None:
                elements.append([[""]])
            elif isinstance(v, list):
                elements.append([[c or "" for c in v]])
            else:
                elements.append([[v]])
        while elements and all(not c for rep in elements[-1] for c in rep):
            elements.pop()
        return cls(tag=tag, elements=elements)

    # What @dataclass generated before: equality on (tag, elements, position), no hash.
    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Segment)
        return (self.tag, self.elements, self.position) == (other.tag, other.elements,
                                                             other.position)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Segment(tag={self.tag!r}, elements={self.elements!r}, position={self.position!r})"

    def __getstate__(self) -> dict[str, Any]:
        return {"tag": self.tag, "elements": self.elements, "position": self.position}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.tag = state["tag"]
        self._elements = state["elements"]
        self.values = None
        self.position = state["position"]
