"""The detectors' document lookups with more than 5,000 documents of a type (SQLite and PostgreSQL).

The lookups once read every document of the type, oldest first and at most 5,000, and filtered
the JSON in Python: past 5,000 documents a new order's ship notices, acknowledgments and
invoices were not found. Each test below stores 5,001 documents of the type that do not match
first, then the ones that do (and some that do not), and asks for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import event, func, insert, select
from sqlalchemy.engine import Connection

from canonical.documents import (
    CanonicalDocument,
    Invoice,
    OrderAcknowledgment,
    PurchaseOrder,
    ShipNotice,
)
from connectors.base import Receipt
from hub.inbox import BlobStore, DatabaseInbox
from hub.metrics import Metrics
from hub.ops.history import DbHistory, record_ship_notice_orders
from hub.runtime.processing import Processor
from hub.settings import Settings
from hub.storage.db import Database
from hub.storage.migrate import upgrade
from hub.storage.ops_tables import ShipNoticeOrder
from hub.storage.tables import Document, InboxEntry, Job, Partner
from pipelines.exceptions.detectors.orders import order_fingerprint
from tests.support.services import postgres_database, sqlite_database

EARLIER = 5_001  # documents of each type stored before the ones looked for: more than the old 5,000 cap
SINCE = date(2026, 11, 1)
_DOCS = Document.__table__


def _po(po_number: str, *, buyer: str = "B1", revision: int = 0, order_date: str = "2026-11-20",
        seller: str | None = None) -> PurchaseOrder:
    return PurchaseOrder.model_validate({
        "po_number": po_number, "revision": revision, "purpose": "new" if revision == 0 else "change",
        "order_date": order_date, "buyer": {"id": buyer}, **({"seller": {"id": seller}} if seller else {}),
        "lines": [{"line_number": "1", "vendor_item": "W-1", "quantity": str(10 + revision)}]})


def _ack(po_number: str, *, buyer: str = "B1", revision: int = 0) -> OrderAcknowledgment:
    return OrderAcknowledgment.model_validate({
        "po_number": po_number, "ack_date": "2026-11-21", "status": "accepted", "revision": revision,
        "buyer": {"id": buyer}, "seller": {"id": "S1"},
        "lines": [{"line_number": "1", "status": "accepted", "quantity": str(10 + revision)}]})


def _asn(shipment_id: str, *po_numbers: str, revision: int = 0, seller: str = "S1") -> ShipNotice:
    return ShipNotice.model_validate({
        "shipment_id": shipment_id, "revision": revision, "ship_date": "2026-11-22", "seller": {"id": seller},
        "orders": [{"po_number": po, "packs": [{"items": [{"line_number": "1", "vendor_item": "W-1",
                                                           "quantity": "4"}]}]} for po in po_numbers]})


def _invoice(number: str, *, seller: str = "V1", invoice_date: str = "2026-11-20") -> Invoice:
    return Invoice.model_validate({
        "invoice_number": number, "invoice_date": invoice_date, "po_number": "P-NEW", "seller": {"id": seller},
        "buyer": {"id": "B1"}, "lines": [{"line_number": "1", "vendor_item": "W-1", "quantity": "4",
                                          "unit_price": "2.50"}], "totals": {"total_amount": "10.00"}})


def _row(doc: CanonicalDocument, *, direction: str = "inbound") -> dict[str, Any]:
    """The documents row, as the processor (inbound) or the EDI sender (outbound) writes it."""
    return {"partner_id": "P", "document_type": doc.document_type, "idempotency_key": doc.idempotency_key,
            "business_key": doc.business_key, "revision": str(doc.revision_of), "direction": direction,
            "status": "accepted", "canonical": doc.model_dump(mode="json"),
            "fingerprint": order_fingerprint(doc) if isinstance(doc, PurchaseOrder) else None}


def _many(doc: CanonicalDocument, n: int, vary: Any) -> list[dict[str, Any]]:
    """``n`` rows of ``doc`` made different by ``vary(canonical, i)`` (a copy; the keys follow)."""
    base = _row(doc)
    rows = []
    for i in range(n):
        canonical = vary(dict(base["canonical"]), i)
        model = type(doc).model_validate(canonical)
        rows.append({**base, "canonical": {**canonical, "idempotency_key": model.idempotency_key},
                     "idempotency_key": model.idempotency_key, "business_key": model.business_key,
                     "fingerprint": order_fingerprint(model) if isinstance(model, PurchaseOrder) else None})
    return rows


def _store(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """One executemany, and the ship notices' orders as ``hub.ops.hooks.after_accept`` records them."""
    ids = conn.execute(insert(_DOCS).returning(_DOCS.c.id, sort_by_parameter_order=True), rows).scalars().all()
    record_ship_notice_orders(conn, [SimpleNamespace(id=i, **row) for i, row in zip(ids, rows, strict=True)])


def _fill(db: Database) -> None:
    with db.engine.begin() as conn:
        # First the documents that match none of the lookups below, 5,001 of each type
        _store(conn, _many(_po("F"), EARLIER, lambda c, i: c | {
            "po_number": f"F-{i}", "buyer": {"id": "FILL"}, "lines": [c["lines"][0] | {"quantity": str(100 + i)}]}))
        _store(conn, _many(_ack("F"), EARLIER, lambda c, i: c | {"po_number": f"F-{i}", "buyer": {"id": "FILL"}}))
        _store(conn, _many(_asn("F", "F"), EARLIER, lambda c, i: c | {
            "shipment_id": f"F-{i}", "orders": [c["orders"][0] | {"po_number": f"F-{i}"}]}))
        _store(conn, _many(_invoice("F"), EARLIER, lambda c, i: c | {"invoice_number": f"F-{i}",
                                                                      "seller": {"id": "FILL"}}))
        # then the ones looked for, and some that look alike but do not match
        _store(conn, [_row(d) for d in (
            _po("P-NEW"), _po("P-NEW", revision=1), _po("P-OLD", order_date="2025-06-01"), _po("P-X", buyer="B2"),
            _ack("P-NEW"), _ack("P-NEW", revision=1), _ack("P-NEW", buyer="B2", revision=2), _ack("P-X", buyer="B2"),
            _asn("S-NEW", "P-A", "P-NEW"), _asn("S-NEW", "P-A", "P-NEW", revision=1), _asn("S-2", "P-NEW"),
            _asn("S-3", "P-OTHER"),
            _invoice("I-NEW"), _invoice("I-OLD", invoice_date="2025-01-01"), _invoice("I-X", seller="V2"))])
        _store(conn, [_row(_po("P-OUT", seller="SUPPLIER"), direction="outbound"),  # ours, to a supplier
                      _row(_asn("S-OUT", "P-NEW"), direction="outbound")])  # ours, to a customer
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE documents, ship_notice_orders")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def filled(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """One database per dialect for the module, filled once (filling takes seconds: its tests are slow)."""
    where = nullcontext(sqlite_database(tmp_path_factory.mktemp("history") / "crossdock.db")) \
        if request.param == "sqlite" else postgres_database()
    with where as url:
        database = Database(url)
        try:
            _fill(database)
            yield database
        finally:
            database.dispose()


@pytest.mark.slow
def test_the_documents_looked_for_come_after_the_first_5000(filled: Database) -> None:
    with filled.reader() as s:
        for document_type in ("purchase_order", "order_acknowledgment", "ship_notice", "invoice"):
            first = s.scalar(select(func.min(Document.id)).where(Document.document_type == document_type,
                                                                 ~Document.business_key.contains("F-")))
            older = s.scalar(select(func.count()).where(Document.document_type == document_type,
                                                        Document.id < first))
            assert older > 5000, document_type


@pytest.mark.slow
def test_an_order_is_found_by_its_number_alone(filled: Database) -> None:
    held = DbHistory(filled).purchase_order("P-NEW")
    assert held is not None and (held.buyer.id, held.revision) == ("B1", 1)  # the latest revision
    rev0 = DbHistory(filled, exclude_key=_po("P-NEW", revision=1).idempotency_key).purchase_order("P-NEW")
    assert rev0 is not None and rev0.revision == 0  # the document being checked is not its own history
    ours = DbHistory(filled).purchase_order("P-OUT")  # an order Crossdock sent out counts too
    assert ours is not None and ours.seller is not None and ours.seller.id == "SUPPLIER"
    assert DbHistory(filled).purchase_order("P-NONE") is None
    assert DbHistory(filled).purchase_order("P-OTHER") is None  # on a ship notice, but no order of that number


@pytest.mark.slow
def test_orders_from_a_buyer_are_found(filled: Database) -> None:
    found = DbHistory(filled).orders_from_buyer("B1", since=SINCE)
    # latest revision only; not P-OLD (dated before), P-X (another buyer), nor P-OUT (sent, not received)
    assert [(o.po_number, o.revision) for o in found] == [("P-NEW", 1)]
    assert [o.po_number for o in DbHistory(filled).orders_from_buyer("B2", since=SINCE)] == ["P-X"]
    assert [o.po_number for o in DbHistory(filled).orders_from_buyer("B1", since=date(2025, 1, 1))] == \
        ["P-NEW", "P-OLD"]
    assert DbHistory(filled).orders_from_buyer("B1", since=date(2026, 11, 21)) == []
    same = DbHistory(filled).orders_from_buyer("B1", since=SINCE, fingerprint=order_fingerprint(_po("P-NEW")))
    assert [(o.po_number, o.revision) for o in same] == [("P-NEW", 1)]


@pytest.mark.slow
def test_the_acknowledgment_of_an_order_is_found(filled: Database) -> None:
    held = DbHistory(filled).confirmed_acknowledgment("P-NEW", buyer_id="B1")
    assert held is not None and (held.buyer.id, held.revision) == ("B1", 1)  # not B2's rev 2 of its P-NEW
    excluded = DbHistory(filled, exclude_key=_ack("P-NEW", revision=1).idempotency_key)
    assert excluded.confirmed_acknowledgment("P-NEW", buyer_id="B1").revision == 0  # type: ignore[union-attr]
    assert DbHistory(filled).confirmed_acknowledgment("P-X", buyer_id="B1") is None
    assert DbHistory(filled).confirmed_acknowledgment("P-NONE", buyer_id="B1") is None


@pytest.mark.slow
def test_the_ship_notices_of_an_order_are_found(filled: Database) -> None:
    found = DbHistory(filled).ship_notices_for("P-NEW", buyer_id="B1")
    # the latest revision of each shipment, one of them shipping two orders; not S-OUT (sent, not received)
    assert sorted((n.shipment_id, n.revision) for n in found) == [("S-2", 0), ("S-NEW", 1)]
    assert [n.shipment_id for n in DbHistory(filled).ship_notices_for("P-OTHER")] == ["S-3"]
    assert [n.shipment_id for n in DbHistory(filled).ship_notices_for("P-A")] == ["S-NEW"]
    excluded = DbHistory(filled, exclude_key=_asn("S-2", "P-NEW").idempotency_key).ship_notices_for("P-NEW")
    assert [n.shipment_id for n in excluded] == ["S-NEW"]
    assert DbHistory(filled).ship_notices_for("P-NONE") == []


@pytest.mark.slow
def test_the_invoices_of_a_seller_are_found(filled: Database) -> None:
    # not I-OLD (dated before) nor I-X (another seller)
    assert [i.invoice_number for i in DbHistory(filled).invoices_from("V1", since=SINCE)] == ["I-NEW"]
    assert [i.invoice_number for i in DbHistory(filled).invoices_from("V1", since=date(2024, 1, 1))] == \
        ["I-NEW", "I-OLD"]
    assert [i.invoice_number for i in DbHistory(filled).invoices_from("V2", since=SINCE)] == ["I-X"]
    assert DbHistory(filled).invoices_from("V1", since=date(2026, 11, 21)) == []


def _documents_read(node: dict[str, Any]) -> float:
    """Rows of ``documents`` a PostgreSQL plan (``EXPLAIN (ANALYZE, FORMAT JSON)``) read."""
    read = 0.0
    if node.get("Relation Name") == "documents":
        read += (node["Actual Rows"] + node.get("Rows Removed by Filter", 0)
                 + node.get("Rows Removed by Index Recheck", 0)) * node["Actual Loops"]
    return read + sum(_documents_read(child) for child in node.get("Plans", []))


@pytest.mark.slow
def test_each_lookup_reads_only_the_rows_that_can_match(filled: Database) -> None:
    """Each lookup finds its rows through an index, not by reading the documents of its type:
    on SQLite by the query plan, on PostgreSQL by the rows the executed plan read."""
    executed: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            executed.append((statement, parameters))

    history = DbHistory(filled, exclude_key="0" * 64)
    lookups = {
        "purchase_order": lambda: history.purchase_order("P-NEW"),
        "purchase_order by buyer": lambda: history.purchase_order("P-NEW", buyer_id="B1"),
        "orders_from_buyer": lambda: history.orders_from_buyer("B1", since=SINCE),
        "orders_from_buyer by content": lambda: history.orders_from_buyer(
            "B1", since=SINCE, fingerprint=order_fingerprint(_po("P-NEW"))),
        "confirmed_acknowledgment": lambda: history.confirmed_acknowledgment("P-NEW", buyer_id="B1"),
        "ship_notices_for": lambda: history.ship_notices_for("P-NEW"),
        "ship_notice": lambda: history.ship_notice("S-2", seller_id="S1"),
        "invoice": lambda: history.invoice("I-NEW", seller_id="V1"),
        "invoices_from": lambda: history.invoices_from("V1", since=SINCE),
    }
    for name, lookup in lookups.items():
        executed.clear()
        event.listen(filled.engine, "before_cursor_execute", capture)
        try:
            lookup()
        finally:
            event.remove(filled.engine, "before_cursor_execute", capture)
        assert len(executed) == 1, name
        statement, parameters = executed[0]
        with filled.engine.connect() as conn:
            if filled.is_sqlite:
                plan = [r[-1] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
                # a full scan, or an index searched by the document type alone (all documents of the type)
                assert not [step for step in plan if step.startswith("SCAN") or step.endswith("(document_type=?)")], \
                    f"{name}: {plan}"
            else:
                plan = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters).scalar()
                assert _documents_read(plan[0]["Plan"]) <= 20, f"{name}: {plan}"  # a few, not thousands


@pytest.mark.slow
def test_a_received_ship_notice_has_its_orders_recorded(filled: Database) -> None:
    with filled.reader() as s:
        held = {(i, po) for i, po in s.execute(
            select(ShipNoticeOrder.document_id, ShipNoticeOrder.po_number)
            .join(Document, Document.id == ShipNoticeOrder.document_id)
            .where(Document.business_key.in_(("S1/S-NEW", "S1/S-OUT"))))}
        ids = dict(s.execute(select(Document.revision, Document.id).where(Document.business_key == "S1/S-NEW")).all())
    assert held == {(ids["0"], "P-A"), (ids["0"], "P-NEW"), (ids["1"], "P-A"), (ids["1"], "P-NEW")}  # not S-OUT


def test_the_migration_records_the_orders_of_the_ship_notices_already_held(empty_database_url: str) -> None:
    upgrade(empty_database_url, "0003_ops")  # the schema before ship_notice_orders
    held = Database(empty_database_url)
    try:
        with held.engine.begin() as conn:
            conn.execute(insert(_DOCS), [_row(_asn("S-1", "P-1", "P-2", "P-1")), _row(_asn("S-2", "P-2")),
                                         _row(_asn("S-OUT", "P-1"), direction="outbound"), _row(_po("P-1"))])
        upgrade(empty_database_url)
        with held.reader() as s:
            recorded = set(s.execute(select(Document.business_key, ShipNoticeOrder.po_number)
                                     .join(Document, Document.id == ShipNoticeOrder.document_id)))
        assert recorded == {("S1/S-1", "P-1"), ("S1/S-1", "P-2"), ("S1/S-2", "P-2")}  # received ones only
        assert sorted(n.shipment_id for n in DbHistory(held).ship_notices_for("P-2")) == ["S-1", "S-2"]
    finally:
        held.dispose()


def test_a_ship_notice_sees_the_earlier_one_of_its_order_through_the_processor(db: Database, tmp_path: Path) -> None:
    """The processor records a received notice's orders (``after_accept``): the next notice of
    the same order counts what the first shipped (12 of 10 ordered: over-shipped)."""
    processor = Processor(db, Settings(data_dir=tmp_path, database_url=db.url), blobs=BlobStore(tmp_path / "blobs"),
                          metrics=Metrics(db), notify=lambda _job: None)
    with db.session() as s:
        s.add(Partner(id="ACME", name="Acme", role="customer", profile={}))
        s.add(Partner(id="SUP", name="Supplier", role="supplier", profile={"exceptions": {"ship_complete": False}}))
    inbox = DatabaseInbox(db, blobs=BlobStore(tmp_path / "blobs"))

    def receive(partner: str, doc: CanonicalDocument) -> dict[str, Any]:
        stored = inbox.store(Receipt(partner_id=partner, channel="http", document_type=doc.document_type),
                             doc.model_dump_json().encode())
        with db.reader() as s:
            job = s.scalar(select(Job.id).where(Job.inbox_id == stored.receipt_id))
        assert job is not None
        processor.process(job)
        with db.reader() as s:
            entry = s.get(InboxEntry, stored.receipt_id)
            assert entry is not None
            return {"status": entry.status, **entry.outcome}

    order = _po("PO-W", buyer="ACME")
    assert receive("ACME", order)["status"] == "processed"
    assert receive("SUP", _asn("SH-1", "PO-W", seller="SUP"))["status"] == "processed"  # 4 of 10
    assert receive("SUP", _asn("SH-2", "PO-W", seller="SUP"))["status"] == "processed"  # 8 of 10
    third = receive("SUP", _asn("SH-3", "PO-W", seller="SUP"))
    assert third["status"] == "case" and "shipped 12 EA, ordered 10" in third["error"], third
