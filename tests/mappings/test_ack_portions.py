"""An 855 line's ACK segments: BP + IB for a partial backorder out, one verdict per line in.

X12 ACK01 IB says the item is backordered (nothing ships now); BP says it is accepted with a
partial shipment and the balance backordered. A line partly filled now is written BP with the
quantity that ships, then IB with the balance; read back, the ACKs of a line add up to one
canonical verdict, whoever wrote them.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from canonical.documents import AckLineStatus, OrderAcknowledgment
from canonical.errors import ValidationFailed
from connectors.formats import x12
from mappings.engine import load_map, map_transaction
from tests.mappings.edi import GOLDEN, to_bytes

GOLDEN_855 = json.loads((GOLDEN / "x12_855_004010.json").read_text())


def _ack(*lines: dict[str, Any]) -> OrderAcknowledgment:
    doc = {**GOLDEN_855, "lines": [{"line_number": str(i + 1), "uom": "EA", "vendor_item": f"W-{i + 1}", **ln}
                                   for i, ln in enumerate(lines)]}
    return OrderAcknowledgment.model_validate(doc)


def _acks_written(doc: OrderAcknowledgment) -> list[str]:
    body = load_map("x12", "855", "outbound").from_canonical(doc)
    return ["*".join(c for rep in s.elements for c in rep[0]).rstrip("*") for s in body if s.tag == "ACK"]


def _read(acks: str, ordered: str = "10") -> Any:
    """One 855 line ordered ``ordered`` EA with ``acks`` (segments without terminators, ``~``-joined)."""
    body = ["BAK*00*AC*PO-1*20261123****SO-1*20261124", "N1*SE*Mock Supplier*92*MOCKSUP",
            f"PO1*1*{ordered}*EA*5.00**VP*W-1", *acks.split("~"), "CTT*1"]
    payload = ("ISA*00*          *00*          *ZZ*MOCKSUP        *ZZ*CROSSDOCK      *261123*1200*U*00401*"
               "000000001*0*T*>~GS*PR*MOCKSUP*CROSSDOCK*20261123*1200*1*X*004010~ST*855*0001~"
               + "".join(s + "~" for s in body) + f"SE*{len(body) + 2}*0001~GE*1*1~IEA*1*000000001~")
    [ic] = list(x12.read(payload.encode()))
    doc = map_transaction(ic, ic.groups[0], ic.groups[0].transactions[0])
    assert isinstance(doc, OrderAcknowledgment)
    [line] = doc.lines
    return line


@pytest.mark.parametrize(("line", "written"), [
    ({"status": "backordered", "ordered_quantity": "10", "quantity": "6", "scheduled_date": "2026-12-15"},
     ["BP*6*EA*067*20261215", "IB*4*EA"]),
    ({"status": "backordered", "ordered_quantity": "10", "quantity": "0"}, ["IB*0*EA"]),
    ({"status": "accepted", "ordered_quantity": "10", "quantity": "10", "scheduled_date": "2026-12-15"},
     ["IA*10*EA*067*20261215"]),
    ({"status": "changed", "ordered_quantity": "10", "quantity": "4", "scheduled_date": "2026-12-15"},
     ["IC*4*EA*067*20261215"]),
    ({"status": "rejected", "ordered_quantity": "10", "quantity": "0"}, ["IR*0*EA"]),
], ids=["partial-backorder", "all-backordered", "accepted", "changed", "rejected"])
def test_written_and_read_back(line: dict[str, Any], written: list[str]) -> None:
    doc = _ack(line)
    assert _acks_written(doc) == written
    outbound = load_map("x12", "855", "outbound")
    payload = to_bytes("x12", outbound.build_transaction(doc, control_number="0042"),
                       sender="MOCKSUP", receiver="CROSSDOCK")
    [ic] = list(x12.read(payload))
    again = map_transaction(ic, ic.groups[0], ic.groups[0].transactions[0])
    assert isinstance(again, OrderAcknowledgment) and again.lines == doc.lines


@pytest.mark.parametrize(("acks", "status", "quantity", "scheduled"), [
    ("ACK*BP*6*EA*067*20261215~ACK*IB*4*EA", "backordered", "6", "2026-12-15"),
    ("ACK*BP*6*EA*067*20261215", "backordered", "6", "2026-12-15"),  # the balance left unsaid
    ("ACK*IA*6*EA*067*20261215~ACK*IB*4*EA*067*20270105", "backordered", "6", "2026-12-15"),
    ("ACK*IA*6*EA*067*20261215~ACK*IR*4*EA", "changed", "6", "2026-12-15"),
    ("ACK*IA*6*EA*067*20261215~ACK*IA*4*EA*067*20261220", "accepted", "10", "2026-12-15"),
    ("ACK*IB*4*EA~ACK*IB*6*EA", "backordered", "0", None),
    ("ACK*IB*6*EA*067*20261215", "backordered", "6", "2026-12-15"),  # one ACK: read as written
    ("ACK*IR*0*EA~ACK*IR*10*EA", "rejected", "0", None),
], ids=["bp-ib", "bp-alone", "ia-ib", "ia-ir", "ia-ia", "ib-ib", "ib-alone", "ir-ir"])
def test_a_suppliers_acks_become_one_verdict(acks: str, status: str, quantity: str,
                                              scheduled: str | None) -> None:
    line = _read(acks)
    assert (line.status, line.quantity, line.ordered_quantity) == (
        AckLineStatus(status), Decimal(quantity), Decimal("10"))
    assert (line.scheduled_date.isoformat() if line.scheduled_date else None) == scheduled


def test_an_unknown_line_status_is_still_a_finding() -> None:
    with pytest.raises(ValidationFailed, match="'XX' is not in code list 'line_status'"):
        _read("ACK*BP*6*EA~ACK*XX*4*EA")
