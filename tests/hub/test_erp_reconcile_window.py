"""The reconciliation window, against the real mock-sap on SQLite and PostgreSQL.

mock-sap's clock starts 100 days back, so what the ERP holds has the age it would have at a
distributor: a sales order created 60 days ago has its creation (and last change) 60 days ago.
The hub's documents are given their receipt time the same way. With a 45-day window a run
reads, and reports, only what came or changed in the last 45 days - an old order the ERP
never had, and an old sales order nobody sent through the hub, raise nothing any more, while
the same differences inside the window do - and asks the ERP only for those 45 days. At the
window's edges (an order received inside whose sales order the ERP made earlier, a sales order
changed inside whose order is older, a delivery changed inside but billed long before) it
finds nothing false; and a real difference on an old order that changed inside is found.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from canonical.documents import Invoice, PurchaseOrder
from hub.erp.destination import gateway_for
from hub.reconcile import Reconciler
from hub.settings import get_settings
from hub.storage.db import Database
from hub.storage.reconcile_tables import ReconcileRun
from hub.storage.tables import Case, Document, Partner
from tests.e2e.test_erp_reconcile import change_quantity, plant_sales_order
from tests.support.mock_sap import MockSap

pytestmark = pytest.mark.mock_sap

SOLD_TO = "1000001"
WINDOW_DAYS = 45
MOCK_STARTS_DAYS_AGO = 100
DELTA_READS = ("A_SalesOrder", "A_OutbDeliveryHeader", "A_BillingDocument")


@pytest.fixture(autouse=True)
def window_setting(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``CROSSDOCK_RECONCILE_WINDOW_DAYS=45``, read by ``Reconciler(db)`` as the hub reads it."""
    monkeypatch.setenv("CROSSDOCK_RECONCILE_WINDOW_DAYS", str(WINDOW_DAYS))
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("CROSSDOCK_RECONCILE_WINDOW_DAYS")
    get_settings.cache_clear()


@pytest.fixture
def aged_sap(mock_sap_factory: Callable[..., MockSap]) -> MockSap:
    """mock-sap whose clock starts 100 days ago (moved forward by the test)."""
    start = datetime.now(UTC) - timedelta(days=MOCK_STARTS_DAYS_AGO)
    return mock_sap_factory(clock=start.strftime("%Y-%m-%dT%H:%M"))


def order(po: str, quantity: str = "3") -> PurchaseOrder:
    return PurchaseOrder.model_validate({
        "po_number": po, "order_date": "2026-08-01", "currency": "EUR", "buyer": {"id": "ACME"},
        "lines": [{"line_number": "1", "vendor_item": "TG11", "quantity": quantity, "unit_price": "10.00"}]})


def two_lines(po: str) -> PurchaseOrder:
    return PurchaseOrder.model_validate({
        "po_number": po, "order_date": "2026-08-01", "currency": "EUR", "buyer": {"id": "ACME"},
        "lines": [{"line_number": "1", "vendor_item": "TG11", "quantity": "3", "unit_price": "10.00"},
                  {"line_number": "2", "vendor_item": "TG12", "quantity": "2", "unit_price": "10.00"}]})


def line_two_changed(po: str) -> PurchaseOrder:
    """Revision 1: line 2 from 2 to 4 (line 1 is only in revision 0)."""
    return PurchaseOrder.model_validate({
        "po_number": po, "order_date": "2026-08-01", "currency": "EUR", "buyer": {"id": "ACME"},
        "revision": 1, "purpose": "change",
        "lines": [{"line_number": "2", "vendor_item": "TG12", "quantity": "4", "unit_price": "10.00",
                   "change": "change"}]})


def run(db: Database, job: str = "all", **kw: Any) -> tuple[ReconcileRun, dict[str, list[str]]]:
    run_id = Reconciler(db, **kw).run(job, trigger="api")
    with db.reader() as s:
        found = s.get(ReconcileRun, run_id)
        assert found is not None and found.status == "finished", found and found.error
        s.expunge(found)
    kinds: dict[str, list[str]] = {}
    for m in found.details["mismatches"]:
        kinds.setdefault(m["kind"], []).append(m["subject"])
    return found, kinds


def delta_reads(sap: MockSap, after: int) -> dict[str, list[str | None]]:
    """The delta token of every collection read of sales orders, deliveries and billing documents
    the hub made after request ``after`` (None: read without one, i.e. everything)."""
    out: dict[str, list[str | None]] = {name: [] for name in DELTA_READS}
    for r in sap.control.requests(limit=500):
        name = r["path"].rsplit("/", 1)[-1]
        query = unquote((r["query"] or "").replace("+", " "))
        if r["id"] <= after or r["method"] != "GET" or name not in out:
            continue
        if "PurchaseOrderByCustomer eq" in query:
            continue  # a look-up of one order by its customer PO, not a read of the collection
        token = re.search(r"!deltatoken='?(D\d{8}T\d{9})", query)
        out[name].append(token.group(1) if token else None)
    return out


def last_request(sap: MockSap) -> int:
    return int(sap.control.requests(limit=1)[0]["id"])


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
def test_a_run_reads_and_reports_only_the_window_and_its_edges_raise_nothing_false(
        db: Database, aged_sap: MockSap) -> None:
    sap, now = aged_sap, datetime.now(UTC)
    connection = {"base_url": sap.base_url, "auth": "none"}
    with db.session() as s:
        s.add(Partner(id="ACME", name="Acme", role="customer", profile={"destinations": [
            {"type": "sap_s4", "document_types": ["purchase_order"],
             "erp": {"connection": connection, "sold_to": SOLD_TO}}]}))
    gateway = gateway_for(connection)

    def in_erp(po: str) -> str:
        """The ERP gets the order now (by the mock's clock)."""
        return gateway.ensure_sales_order(order(po), sold_to=SOLD_TO, materials={"1": "TG11"}).sales_order

    def received(po: str, days_ago: float, erp_number: str | None = None, doc: PurchaseOrder | None = None) -> int:
        """The hub received the order ``days_ago`` (and recorded the ERP's number, if given)."""
        doc = doc or order(po)
        with db.session() as s:
            row = Document(partner_id="ACME", document_type="purchase_order", idempotency_key=doc.idempotency_key,
                           business_key=doc.business_key, canonical=doc.model_dump(mode="json"),
                           status="delivered", erp_document_number=erp_number,
                           created_at=now - timedelta(days=days_ago))
            s.add(row)
            s.flush()
            return row.id

    # 100 days ago: an order written, delivered and billed then
    billed_early = in_erp("PO-BILLED-EARLY")
    received("PO-BILLED-EARLY", 100, billed_early)
    early_delivery = sap.control.generate_idoc("DELVRY", billed_early)["delivery"]
    sap.control.generate_idoc("INVOIC", billed_early)

    sap.control.advance(days=40)  # 60 days ago
    delivered_late = in_erp("PO-OLD-DELIVERED")
    received("PO-OLD-DELIVERED", 60, delivered_late)
    changed_late = in_erp("PO-OLD-CHANGED")
    received("PO-OLD-CHANGED", 60, changed_late)
    received("PO-OLD-MISSING", 60)  # the ERP never had it
    old_orphan = plant_sales_order(sap, "PO-OLD-KEYED-BY-HAND")  # nobody sent it through the hub
    revised = gateway.ensure_sales_order(two_lines("PO-REVISED"), sold_to=SOLD_TO,
                                         materials={"1": "TG11", "2": "TG12"}).sales_order
    received("PO-REVISED", 60, revised, two_lines("PO-REVISED"))
    erp_first = in_erp("PO-ERP-FIRST")  # the ERP had these before the hub received them (inside)
    in_erp("PO-ERP-FIRST-BY-PO")

    sap.control.advance(days=60)  # today
    received("PO-ERP-FIRST", 2, erp_first)
    received("PO-ERP-FIRST-BY-PO", 2)  # without the ERP's number: found by customer PO
    received("PO-NEW-MISSING", 1)  # the ERP never had it
    # an order received 60 days ago, changed yesterday: folded from both revisions, one outside
    received("PO-REVISED", 1, revised, line_two_changed("PO-REVISED"))
    r = sap.control._http.patch(
        f"/sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrderItem(SalesOrder='{revised}',SalesOrderItem='000020')",
        json={"RequestedQuantity": "4", "NetAmount": "40.00"}, headers={**sap.control._csrf_headers(), "If-Match": "*"})
    r.raise_for_status()
    new_orphan = plant_sales_order(sap, "PO-NEW-KEYED-BY-HAND")
    received("PO-NEW-OK", 0, in_erp("PO-NEW-OK"))
    # an old order delivered and billed today: its sales order, delivery and billing change inside
    sap.control.generate_idoc("DELVRY", delivered_late)
    sap.control.generate_idoc("INVOIC", delivered_late)
    # an old order's sales order changed by hand today: a real difference, found
    change_quantity(sap, changed_late, "000010", "7")
    sap.control.patch("A_SalesOrder", changed_late, {"CustomerPaymentTerms": "0001"})
    # the early delivery is changed today (say, a proof of delivery): billed 100 days ago
    r = sap.control._http.patch(
        f"/sap/opu/odata/sap/API_OUTBOUND_DELIVERY_SRV/A_OutbDeliveryHeader('{early_delivery}')",
        json={"TotalWeight": "5"}, headers={**sap.control._csrf_headers(), "If-Match": "*"})
    r.raise_for_status()

    before = last_request(sap)
    found, kinds = run(db)
    assert kinds == {"missing_sales_order": ["ACME/PO-NEW-MISSING"], "orphan_sales_order": [new_orphan],
                     "quantity_mismatch": ["ACME/PO-OLD-CHANGED"]}, kinds
    # sales orders: the 5 received inside, the 2 old ones changed inside, the new orphan;
    # billing: the delivery made today (the early one is dated before the window)
    assert (found.checked, found.matched) == (9, 6)

    # the ERP was asked for the window only: sales orders and deliveries changed in the last 45
    # days, billing documents one window further back (a delivery may be billed before it is dated)
    asked = delta_reads(sap, before)
    window_start, billing_start = now - timedelta(days=WINDOW_DAYS), now - timedelta(days=2 * WINDOW_DAYS)
    assert asked["A_SalesOrder"] and asked["A_OutbDeliveryHeader"] and asked["A_BillingDocument"], asked
    for name, tokens in asked.items():
        start = billing_start if name == "A_BillingDocument" else window_start
        for token in tokens:
            assert token is not None, f"{name} was read in full: {asked}"
            moment = datetime.strptime(token[1:16], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
            assert abs(moment - start) < timedelta(minutes=5), (name, token, start)

    # the billing job alone finds the old order behind the delivery made today by its sales order
    billing, kinds = run(db, "billing")
    assert (kinds, billing.checked, billing.matched) == ({}, 1, 1)

    with db.reader() as s:
        cases = {c.business_key for c in s.scalars(select(Case).where(Case.type.like("reconcile.%")))}
    assert cases == {"ACME/PO-NEW-MISSING", new_orphan, "ACME/PO-OLD-CHANGED"}

    # without a window (0) the same run reads everything and reports the old ones too
    _, everything = run(db, window_days=0)
    assert sorted(everything["missing_sales_order"]) == ["ACME/PO-NEW-MISSING", "ACME/PO-OLD-MISSING"]
    assert sorted(everything["orphan_sales_order"]) == sorted([old_orphan, new_orphan])


SUPPLIER, SUPPLIER_PO = "1000015", "4500000101"  # seeded: item 00010 is 213 PC of TG14


def supplier_invoice(number: str) -> Invoice:
    return Invoice.model_validate({
        "invoice_number": number, "invoice_date": "2026-11-25", "po_number": SUPPLIER_PO, "currency": "EUR",
        "seller": {"id": "SUPP"}, "buyer": {"id": "CROSSDOCK"},
        "lines": [{"line_number": "1", "po_line_number": "10", "quantity": "200", "unit_price": "301.14"}],
        "totals": {"lines_amount": str(Decimal("301.14") * 200), "total_amount": str(Decimal("301.14") * 200)}})


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
def test_supplier_documents_older_than_the_window_are_not_reported(db: Database, mock_sap: MockSap) -> None:
    erp = {"connection": {"base_url": mock_sap.base_url, "auth": "none"}, "supplier": SUPPLIER,
           "send_purchase_orders": False}
    now = datetime.now(UTC)
    with db.session() as s:
        s.add(Partner(id="SUPP", name="Supplier", role="supplier", profile={"destinations": [
            {"type": "sap_s4", "document_types": ["ship_notice", "invoice"], "erp": erp}]}))
        for number, days_ago in (("INV-OLD", 60), ("INV-NEW", 1)):  # neither was ever posted
            doc = supplier_invoice(number)
            s.add(Document(partner_id="SUPP", document_type="invoice", idempotency_key=doc.idempotency_key,
                           business_key=doc.business_key, canonical=doc.model_dump(mode="json"),
                           status="delivered", created_at=now - timedelta(days=days_ago)))

    found, kinds = run(db, "supplier_postings")
    assert kinds == {"supplier_invoice_not_posted": ["SUPP/INV-NEW"]}, kinds
    assert (found.checked, found.matched) == (1, 0)
    _, everything = run(db, "supplier_postings", window_days=0)
    assert sorted(everything["supplier_invoice_not_posted"]) == ["SUPP/INV-NEW", "SUPP/INV-OLD"]
