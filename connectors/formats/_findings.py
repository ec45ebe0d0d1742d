"""Building ``Finding``s that name where in an interchange a problem is.

``code`` is dotted and carries the standard's own error code so acknowledgments can be
written from it: ``x12.ta1.001`` (TA105 note), ``x12.ak9.4`` (AK905 group error),
``x12.ak5.3`` (AK502 set error), ``x12.ak3.8`` (AK304 segment error), ``x12.ak4.7``
(AK403 element error), ``edifact.0085.29`` (CONTRL syntax error, 0085).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from canonical.errors import Finding

if TYPE_CHECKING:
    from connectors.formats.segments import Segment

__all__ = ["EnvelopeContext", "code_number", "finding"]


def finding(
    code: str,
    message: str,
    *,
    partner: str | None = None,
    interchange: str | None = None,
    envelope: str | None = None,
    segment_id: str | None = None,
    segment_position: int | None = None,
    element_position: int | None = None,
    component_position: int | None = None,
    value: str | None = None,
) -> Finding:
    """A finding whose ``path`` reads like ``partner acme / ISA 000000123 / ST 850 0001 / PO1 at 12 / element 02``."""
    parts: list[str] = []
    if partner:
        parts.append(f"partner {partner}")
    if interchange:
        parts.append(interchange)
    if envelope:
        parts.append(envelope)
    if segment_id:
        parts.append(f"{segment_id} at {segment_position}" if segment_position else segment_id)
    if element_position:
        parts.append(f"element {element_position:02d}")
    if component_position:
        parts.append(f"component {component_position}")
    return Finding(
        path=" / ".join(parts), message=message, code=code, segment_id=segment_id,
        segment_position=segment_position, element_position=element_position,
        component_position=component_position, value=value,
    )


class EnvelopeContext:
    """Findings about one interchange: ``at`` fills in partner, interchange and segment.

    ``prefix`` is put before every code (``"edifact.0085."`` makes ``"29"`` a CONTRL code)."""

    __slots__ = ("interchange", "partner", "prefix")

    def __init__(self, interchange: str, partner: str | None, *, prefix: str = "") -> None:
        self.interchange = interchange
        self.partner = partner
        self.prefix = prefix

    def at(self, code: str, message: str, *, envelope: str | None = None,
           seg: Segment | None = None, element: int | None = None,
           value: str | None = None) -> Finding:
        return finding(
            self.prefix + code, message, partner=self.partner, interchange=self.interchange,
            envelope=envelope, segment_id=seg.tag if seg else None,
            segment_position=seg.position if seg else None, element_position=element,
            value=value,
        )


def code_number(code: str) -> str:
    """The standard's own code at the end of a dotted finding code (``x12.ak4.7`` → ``7``)."""
    return code.rsplit(".", 1)[-1]
