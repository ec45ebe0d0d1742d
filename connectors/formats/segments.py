"""The segment model shared by the X12 and EDIFACT codecs and the mapping engine.

Positions are 1-based as in the standards' documentation: ``seg.get(1)`` is the first
data element after the tag (X12 ``BEG01``, EDIFACT ``BGM`` 1st element), ``seg.get(2, 1)``
the first component of the second element.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Segment"]


@dataclass(slots=True)
class Segment:
    tag: str
    # element → repetition → component; a simple element is [[value]]
    elements: list[list[list[str]]] = field(default_factory=list)
    position: int = 0  # position within its transaction set / message (header = 1)

    def get(self, element: int, component: int = 1, repetition: int = 1) -> str | None:
        """The value at (element, component, repetition), or None when absent or empty."""
        try:
            value = self.elements[element - 1][repetition - 1][component - 1]
        except IndexError:
            return None
        return value or None

    def element_count(self) -> int:
        return len(self.elements)

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
