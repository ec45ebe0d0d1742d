"""An 855 or 865 line's ACK segments: BP + IB for a partial backorder out, one verdict per line in.

X12 ACK01 IB says the item is backordered (nothing ships now); BP says it is accepted with a
partial shipment and the balance backordered. A line partly filled now is written BP with the
quantity that ships, then IB with the balance; read back, the ACKs of a line add up to one
canonical verdict, whoever wrote them. The 865 (an answer to a change, POC loops) says its
lines' verdicts exactly as the 855 (an answer to the order, PO1 loops) does.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from canonical.documents import AckLineStatus, OrderAcknowledgment
from canonical.errors import ValidationFailed
from connectors.formats import edifact, x12
from connectors.formats.model import Transaction
from mappings.engine import load_map, map_transaction
from tests.mappings.edi import GOLDEN, to_bytes

SETS = ("855", "865")
GOLDEN_ACK = {s: json.loads((GOLDEN / f"x12_{s}_004010.json").read_text()) for s in SETS}
# What differs between the two around a line's ACKs: group (GS01), header and line segment.
_SHAPE = {"855": ("PR", "BAK*00*AC*PO-1*20261123****SO-1*20261124", "PO1*1*{ordered}*EA*5.00**VP*W-1"),
          "865": ("CA", "BCA*00*AC*PO-1**1*20261123***SO-1*20261124", "POC*1*CA*{ordered}**EA*5.00**VP*W-1")}


def _ack(set_id: str, *lines: dict[str, Any]) -> OrderAcknowledgment:
    doc = {**GOLDEN_ACK[set_id], "lines": [{"line_number": str(i + 1), "uom": "EA", "vendor_item": f"W-{i + 1}", **ln}
                                           for i, ln in enumerate(lines)]}
    return OrderAcknowledgment.model_validate(doc)


def _acks_written(set_id: str, doc: OrderAcknowledgment) -> list[str]:
    body = load_map("x12", set_id, "outbound").from_canonical(doc)
    return ["*".join(c for rep in s.elements for c in rep[0]).rstrip("*") for s in body if s.tag == "ACK"]


def _read(set_id: str, acks: str, ordered: str = "10") -> Any:
    """One line ordered ``ordered`` EA with ``acks`` (segments without terminators, ``~``-joined)."""
    group, header, line = _SHAPE[set_id]
    body = [header, "N1*SE*Mock Supplier*92*MOCKSUP", line.format(ordered=ordered), *acks.split("~"), "CTT*1"]
    payload = ("ISA*00*          *00*          *ZZ*MOCKSUP        *ZZ*CROSSDOCK      *261123*1200*U*00401*"
               f"000000001*0*T*>~GS*{group}*MOCKSUP*CROSSDOCK*20261123*1200*1*X*004010~ST*{set_id}*0001~"
               + "".join(s + "~" for s in body) + f"SE*{len(body) + 2}*0001~GE*1*1~IEA*1*000000001~")
    [ic] = list(x12.read(payload.encode()))
    doc = map_transaction(ic, ic.groups[0], ic.groups[0].transactions[0])
    assert isinstance(doc, OrderAcknowledgment)
    [line] = doc.lines
    return line


@pytest.mark.parametrize("set_id", SETS)
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
def test_written_and_read_back(set_id: str, line: dict[str, Any], written: list[str]) -> None:
    doc = _ack(set_id, line)
    assert _acks_written(set_id, doc) == written
    outbound = load_map("x12", set_id, "outbound")
    payload = to_bytes("x12", outbound.build_transaction(doc, control_number="0042"),
                       sender="MOCKSUP", receiver="CROSSDOCK")
    [ic] = list(x12.read(payload))
    assert ic.groups[0].transactions[0].set_id == set_id
    again = map_transaction(ic, ic.groups[0], ic.groups[0].transactions[0])
    assert isinstance(again, OrderAcknowledgment) and again.lines == doc.lines
    assert again.revision == doc.revision


@pytest.mark.parametrize("set_id", SETS)
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
def test_a_suppliers_acks_become_one_verdict(set_id: str, acks: str, status: str, quantity: str,
                                              scheduled: str | None) -> None:
    line = _read(set_id, acks)
    assert (line.status, line.quantity, line.ordered_quantity) == (
        AckLineStatus(status), Decimal(quantity), Decimal("10"))
    assert (line.scheduled_date.isoformat() if line.scheduled_date else None) == scheduled


@pytest.mark.parametrize("set_id", SETS)
def test_an_unknown_line_status_is_still_a_finding(set_id: str) -> None:
    with pytest.raises(ValidationFailed, match="'XX' is not in code list 'line_status'"):
        _read(set_id, "ACK*BP*6*EA~ACK*XX*4*EA")


@pytest.mark.parametrize("revision", [0, 2], ids=["to-the-order", "to-a-change"])
def test_an_ordrsp_says_a_partial_backorder_in_one_line_with_both_quantities(revision: int) -> None:
    """EDIFACT needs no second line: QTY+113 is what is delivered now, QTY+83 the backorder."""
    doc = _ack("855", {"status": "backordered", "ordered_quantity": "10", "quantity": "6",
                       "scheduled_date": "2026-12-15"})
    body = load_map("edifact", "ORDRSP", "outbound").from_canonical(doc.model_copy(update={"revision": revision}))
    assert [s.elements[1][0][0] for s in body if s.tag == "LIN"] == ["3"]  # changed: D96A has no backorder
    quantities = [":".join(s.elements[0][0]) for s in body if s.tag == "QTY"]
    assert quantities == ["21:10:PCE", "113:6:PCE", "83:4:PCE"]



def _ordrsp_round_trip(status: str) -> tuple[list[str], Any]:
    """One ORDRSP line ordered 10, confirmed 6: the QTYs written, and the line read back."""
    doc = _ack("855", {"status": status, "ordered_quantity": "10", "quantity": "6", "scheduled_date": "2026-12-15"})
    body = load_map("edifact", "ORDRSP", "outbound").from_canonical(doc)
    quantities = [":".join(s.elements[0][0]) for s in body if s.tag == "QTY"]
    tx = Transaction("ORDRSP", "1", body, version="D96A")
    data = to_bytes("edifact", tx, sender="MOCKSUP", receiver="XD")
    [(ic, group, read_tx)] = [(i, g, t) for i in edifact.read(data) for g in i.groups for t in g.transactions]
    return quantities, map_transaction(ic, group, read_tx).lines[0]


@pytest.mark.parametrize(("status", "quantities"), [
    ("backordered", ["21:10:PCE", "113:6:PCE", "83:4:PCE"]),   # the other 4 come later
    ("changed", ["21:10:PCE", "113:6:PCE"]),                   # cut to 6: nothing comes later
])
def test_an_ordrsp_names_a_backorder_quantity_only_for_a_backordered_line(status: str, quantities: list[str]) -> None:
    """D96A has no backorder action code (both lines are LIN 3): QTY+83 is what tells them apart,
    written for a backorder only and read back as one."""
    written, line = _ordrsp_round_trip(status)
    assert written == quantities
    assert line.status == AckLineStatus(status) and line.quantity == Decimal("6")
