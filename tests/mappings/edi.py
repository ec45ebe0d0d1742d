"""EDI plumbing for the mapping tests: read golden files with the real codecs, print
segments as text, and wrap a body into bytes for round trips."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connectors.formats import edifact, x12
from connectors.formats.model import Delimiters, Group, Interchange, Transaction
from connectors.formats.segments import Segment

GOLDEN = Path(__file__).parent / "golden"


def standard_of(path: Path) -> str:
    return "edifact" if path.name.startswith("edifact_") else "x12"


def read(path: Path) -> list[tuple[Interchange, Group, Transaction]]:
    codec: Any = edifact if standard_of(path) == "edifact" else x12
    return [(ic, g, t) for ic in codec.read(path.read_bytes()) for g in ic.groups for t in g.transactions]


def segments_text(segments: list[Segment], standard: str) -> str:
    """One segment per line: ``BEG*00*SA*PO-1**20261123`` / ``BGM+220+PO-1+9``."""
    el, comp = ("*", ">") if standard == "x12" else ("+", ":")
    lines = []
    for s in segments:
        parts = [s.tag]
        for element in s.elements:
            rep = list(element[0]) if element else [""]
            while len(rep) > 1 and rep[-1] == "":
                rep.pop()
            parts.append(comp.join(rep))
        while len(parts) > 1 and parts[-1] == "":
            parts.pop()
        lines.append(el.join(parts))
    return "\n".join(lines) + "\n"


def to_bytes(standard: str, tx: Transaction, *, sender: str, receiver: str) -> bytes:
    """A one-transaction interchange around ``tx``, written by the real codec."""
    if standard == "x12":
        delimiters = Delimiters("*", ">", "~", "^")
        version = "00501" if (tx.version or "").startswith("005") else "00401"
        group = Group("XX", sender, receiver, "1", tx.version or "004010", "20261123", "1200", [tx])
        ic = Interchange("x12", "ZZ", sender, "ZZ", receiver, "1", "261123", "1200", version,
                         delimiters, groups=[group])
        return x12.write(ic)
    delimiters = Delimiters("+", ":", "'", None, "?")
    group = Group(None, sender, receiver, None, tx.version, "261123", "1200", [tx])
    ic = Interchange("edifact", "14", sender, "14", receiver, "1", "261123", "1200", "UNOC:3",
                     delimiters, groups=[group])
    return edifact.write(ic)
