"""The seller's automatic answer: lines confirmed up to the stock reference data knows."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from canonical.documents import Invoice, OrderAcknowledgment, PurchaseOrder, ShipNotice
from hub.edi.outbound import queue_document
from hub.edi.responses import answers_for
from hub.edi.stock import StockCheck
from hub.ops.refdata import DbReferenceData, import_dataset
from hub.storage.db import Database
from pipelines.refdata import ReferenceDataSet
from tests.support.services import sqlite_database

DAY = date(2026, 11, 23)
PARTNER: dict[str, Any] = {"id": "SHOP", "edi": {"standard": "edifact", "interchange_id": "SHOP",
                                                  "our_interchange_id": "XD", "auto_respond": ["855"]}}
REFDATA = {
    "items": [{"item_number": "W-1", "base_uom": "EA", "conversions": [{"uom": "CA", "factor": "12"}]},
              {"item_number": "B-2", "base_uom": "EA"}, {"item_number": "N-3", "base_uom": "EA"}],
    "customers": [{"id": "SHOP", "ship_tos": [{"id": "DC-W", "warehouse": "WEST"}]}],
    "stock": [{"item_number": "W-1", "warehouse": "WEST", "on_hand": "30"},
              {"item_number": "W-1", "warehouse": "EAST", "on_hand": "500"},
              {"item_number": "B-2", "warehouse": "WEST", "on_hand": "0"}],
}


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    url = sqlite_database(tmp_path / "stock.db")
    d = Database(url)
    with d.session() as s:
        import_dataset(s, ReferenceDataSet.model_validate(REFDATA))
    time.sleep(0.01)  # answers recorded from here on are later than the stock figures
    yield d
    d.dispose()


def _po(number: str, *lines: tuple[str, str, str]) -> PurchaseOrder:
    return PurchaseOrder.model_validate({
        "po_number": number, "order_date": DAY, "buyer": {"id": "SHOP"}, "ship_to": {"id": "DC-W"},
        "lines": [{"line_number": str(i), "vendor_item": item, "quantity": qty, "uom": uom, "unit_price": "2.00"}
                  for i, (item, qty, uom) in enumerate(lines, start=1)]})


def _answer(db: Database, po: PurchaseOrder, shortfall: str = "backorder", *, keep: bool = False
            ) -> list[OrderAcknowledgment | ShipNotice | Invoice]:
    with db.session() as s:
        out = answers_for(po, ["855", "856", "810"], on=DAY, seller_id="XD", shortfall=shortfall,  # type: ignore[arg-type]
                          available=StockCheck(s, DbReferenceData(db, ttl=0), po).take)
        if keep:
            queue_document(s, PARTNER, out[0])
    return out


@pytest.mark.parametrize(("shortfall", "lines", "said", "shipped"), [
    # W-1: 30 EA in WEST (the ship-to's warehouse; EAST's 500 do not count); B-2: none; N-3: no stock record
    ("backorder", [("W-1", "20", "EA"), ("B-2", "5", "EA"), ("N-3", "7", "EA")],
     [("accepted", "20"), ("backordered", "0"), ("accepted", "7")], [("1", "20"), ("3", "7")]),
    ("backorder", [("W-1", "25", "EA"), ("W-1", "10", "EA")],  # the second line gets what the first left
     [("accepted", "25"), ("backordered", "5")], [("1", "25"), ("2", "5")]),
    ("reject", [("W-1", "40", "EA"), ("B-2", "5", "EA")],
     [("changed", "30"), ("rejected", "0")], [("1", "30")]),
    ("reject", [("W-1", "3", "CA")], [("changed", "2")], [("1", "2")]),  # 30 EA is 2 whole cases
    ("reject", [("B-2", "1", "EA")], [("rejected", "0")], []),  # nothing to ship or bill
])
def test_lines_are_confirmed_up_to_stock_and_only_that_ships(
        db: Database, shortfall: str, lines: list[tuple[str, str, str]], said: list[tuple[str, str]],
        shipped: list[tuple[str, str]]) -> None:
    out = _answer(db, _po("PO-1", *lines), shortfall)
    ack = out[0]
    assert isinstance(ack, OrderAcknowledgment)
    assert [(ln.status.value, str(ln.quantity)) for ln in ack.lines] == said
    assert ack.status.value == ("accepted" if {s for s, _ in said} == {"accepted"} else
                                "rejected" if {s for s, _ in said} == {"rejected"} else "accepted_with_changes")
    if not shipped:
        assert out == [ack]
        return
    asn, inv = out[1], out[2]
    assert isinstance(asn, ShipNotice) and isinstance(inv, Invoice)
    assert [(i.line_number, str(i.quantity)) for i in asn.orders[0].packs[0].items] == shipped
    assert [(i.line_number, str(i.quantity)) for i in inv.lines] == shipped
    assert inv.totals.total_amount == sum(Decimal(q) * 2 for _, q in shipped)


def test_what_crossdock_already_confirmed_is_not_promised_again(db: Database) -> None:
    first = _answer(db, _po("PO-A", ("W-1", "2", "CA")), keep=True)[0]  # 24 of the 30 EA
    assert isinstance(first, OrderAcknowledgment) and first.lines[0].quantity == 2
    second = _answer(db, _po("PO-B", ("W-1", "10", "EA")))[0]
    assert isinstance(second, OrderAcknowledgment)
    assert (second.lines[0].status.value, second.lines[0].quantity) == ("backordered", 6)
    with db.session() as s:  # a new stock figure starts the count again
        import_dataset(s, ReferenceDataSet.model_validate(
            {"stock": [{"item_number": "W-1", "warehouse": "WEST", "on_hand": "12"}]}))
    third = _answer(db, _po("PO-C", ("W-1", "10", "EA")))[0]
    assert isinstance(third, OrderAcknowledgment) and third.lines[0].quantity == 10
