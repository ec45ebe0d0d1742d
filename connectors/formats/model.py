"""Envelopes shared by the X12 and EDIFACT codecs: interchange → group → transaction.

The codecs (``connectors.formats.x12`` / ``.edifact``) read bytes into these and write
these back to bytes; the mapping engine reads and builds ``Transaction.segments``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from canonical.errors import Finding
from connectors.formats.segments import Segment

__all__ = ["Delimiters", "Group", "Interchange", "Transaction"]

Standard = Literal["x12", "edifact"]


@dataclass(frozen=True, slots=True)
class Delimiters:
    element: str
    component: str
    segment: str
    repetition: str | None = None  # X12 ISA11 from 00402 on; EDIFACT has none in D96A bodies
    release: str | None = None  # EDIFACT UNA release character, usually "?"
    decimal: str = "."


@dataclass(slots=True)
class Transaction:
    set_id: str  # "850", "ORDERS"
    control_number: str  # ST02 / UNH 0062
    segments: list[Segment] = field(default_factory=list)  # header and trailer included
    version: str | None = None  # X12: ST03 or GS08; EDIFACT: "D96A" from UNH S009
    association_code: str | None = None  # EDIFACT S009 0057 (e.g. EAN008)
    # Envelope and syntax problems of this set/message; reading goes on past them so
    # one bad transaction never hides the others in the same interchange.
    findings: list[Finding] = field(default_factory=list)


@dataclass(slots=True)
class Group:
    functional_id: str | None  # GS01 ("PO", "PR", "SH", "IN", "FA"); EDIFACT UNG or None
    sender_id: str | None
    receiver_id: str | None
    control_number: str | None  # GS06 / UNG 0048
    version: str | None  # GS08 ("004010", "005010X...") / UNG
    date: str | None = None
    time: str | None = None
    transactions: list[Transaction] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # GS/GE, UNG/UNE problems
    header: Segment | None = None  # the GS / UNG as read
    trailer: Segment | None = None  # the GE / UNE as read


@dataclass(slots=True)
class Interchange:
    standard: Standard
    sender_qualifier: str | None
    sender_id: str
    receiver_qualifier: str | None
    receiver_id: str
    control_number: str  # ISA13 / UNB 0020
    date: str
    time: str
    version: str  # X12 ISA12 ("00401", "00501"); EDIFACT syntax "UNOA:3" style "UNOC:3"
    delimiters: Delimiters
    test: bool = False  # ISA15 == "T" / UNB 0035 == "1"
    ack_requested: bool = False  # ISA14 == "1" / UNB 0031 == "1"
    groups: list[Group] = field(default_factory=list)
    header: Segment | None = None  # the ISA / UNB as read
    offset: int = 0  # byte offset of the interchange in the file it came from
    findings: list[Finding] = field(default_factory=list)  # ISA/IEA, UNB/UNZ problems
    trailer: Segment | None = None  # the IEA / UNZ as read
    # Segments carried by the interchange outside any group: an X12 TA1.
    service_segments: list[Segment] = field(default_factory=list)
    encoding: str = ""  # how the bytes were decoded ("latin-1", "utf-8"); writers reuse it

    def transactions(self) -> list[Transaction]:
        return [t for g in self.groups for t in g.transactions]
