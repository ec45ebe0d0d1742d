"""``crossdock parse`` for X12/EDIFACT and ``crossdock render``: the translator on the command line.

Usage:
    crossdock parse orders.edi                           # canonical JSON lines, one per set
    crossdock render --standard x12 --set 850 po.json    # EDI bytes on stdout
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import typer

from canonical.errors import Finding
from canonical.registry import model_for
from connectors.formats.model import Delimiters, Group, Interchange
from hub.edi.decode import EdiBatch
from hub.edi.outbound import write_interchange
from mappings.engine import load_map

__all__ = ["print_batch", "render_file"]

_FUNCTIONAL_ID = {"850": "PO", "860": "PC", "855": "PR", "856": "SH", "810": "IN"}


_ENVELOPE = re.compile(r"(x12|edifact)\.")  # the codes of syntax and envelope findings (connectors.formats)


def print_batch(file: Path, batch: EdiBatch, partner: str) -> None:
    """Echo each accepted set's document; exit 1 naming every rejected set's first problems."""
    bad = 0
    for result in batch.sets:
        if result.document is not None:
            typer.echo(result.document.model_dump_json())
        if result.status != "rejected":
            continue
        bad += 1
        ic = batch.interchanges[result.interchange]
        who = partner if partner != "unknown" else ic.sender_id.strip()
        head = f"{'ISA' if ic.standard == 'x12' else 'UNB'} {ic.control_number.strip()}"
        tx = result.transaction
        problems: list[Finding | None] = list(result.findings) or [None]
        for f in problems[:5]:
            where = ""
            if f is not None:
                where = " / ".join(p for p in (
                    f"{f.segment_id} at segment {f.segment_position}" if f.segment_id else "",
                    f"element {f.element_position:02d}" if f.element_position else "",
                    # a canonical field with no segment behind it; an envelope finding's path
                    # (partner / ISA / ST) is the head of the line already
                    f"field {f.path}" if f.path and not f.segment_id and not _ENVELOPE.match(f.code) else "",
                ) if p)
                where = f"{where}: {f.message}" if where else f.message
            typer.echo(f"{file}: partner {who} / {head} / {tx.set_id} {tx.control_number}: "
                       f"{where or result.error}", err=True)
    if bad:
        raise typer.Exit(1)


def render_file(file: Path, *, standard: str, set_id: str, version: str | None, sender: str,
                receiver: str) -> bytes:
    """Canonical JSON in ``file`` → one interchange of ``set_id`` (control numbers 1)."""
    data = json.loads(file.read_text("utf-8"))
    m = load_map(standard, set_id, "outbound", version=version)
    doc = model_for(m.document_type).model_validate(data)
    tx = m.build_transaction(doc, control_number="0001" if standard == "x12" else "1")
    now = dt.datetime.now(dt.UTC)
    if standard == "x12":
        five = m.version.startswith("005")
        group = Group(_FUNCTIONAL_ID.get(set_id, "PO"), sender, receiver, "1", m.version, now.strftime("%Y%m%d"),
                      now.strftime("%H%M"), [tx])
        ic = Interchange("x12", "ZZ", sender, "ZZ", receiver, "1", now.strftime("%y%m%d"), now.strftime("%H%M"),
                         "00501" if five else "00401", Delimiters("*", ">", "~", "^" if five else None),
                         groups=[group])
    else:
        group = Group(None, sender, receiver, None, tx.version, now.strftime("%y%m%d"), now.strftime("%H%M"), [tx])
        ic = Interchange("edifact", "ZZ", sender, "ZZ", receiver, "1", now.strftime("%y%m%d"), now.strftime("%H%M"),
                         "UNOC:3", Delimiters("+", ":", "'", None, "?"), groups=[group])
    return write_interchange(ic)
