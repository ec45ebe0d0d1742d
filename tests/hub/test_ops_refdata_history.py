"""Reference data and document history in the database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from canonical.documents import PurchaseOrder
from hub.ops.history import DbHistory
from hub.ops.refdata import DbReferenceData, import_file
from hub.ops.rules import may_approve, partner_rules
from hub.storage.db import Database
from hub.storage.tables import Document


def test_import_replaces_by_key_and_the_pipeline_sees_it(db: Database, tmp_path: Path) -> None:
    items = tmp_path / "items.csv"
    items.write_text("item_number,base_uom,conversions,gtin\nW-1,EA,CA=12,00012345678905\nW-2,EA,,\n")
    with db.session() as s:
        assert import_file(s, items) == {"items": 2}
    ref = DbReferenceData(db, ttl=0)
    assert ref.find_item(gtin="00012345678905").item_number == "W-1"  # type: ignore[union-attr]
    assert ref.find_item(vendor_item="W-1").factor("CA") == 12  # type: ignore[union-attr]
    items.write_text("item_number,base_uom,conversions\nW-1,EA,CA=24\n")
    with db.session() as s:
        import_file(s, items)
    assert ref.find_item(vendor_item="W-1").factor("CA") == 24  # type: ignore[union-attr]
    assert ref.find_item(vendor_item="W-2") is not None and not ref.empty


def test_history_returns_the_latest_revision_and_excludes_the_checked_document(db: Database) -> None:
    def po(revision: int, qty: str) -> PurchaseOrder:
        return PurchaseOrder.model_validate({
            "po_number": "PO-1", "revision": revision, "purpose": "new" if revision == 0 else "change",
            "order_date": "2026-11-20", "buyer": {"id": "ACME"},
            "lines": [{"line_number": "1", "vendor_item": "W-1", "quantity": qty}]})

    with db.session() as s:
        for doc in (po(0, "5"), po(1, "7")):
            s.add(Document(partner_id="ACME", document_type=doc.document_type, idempotency_key=doc.idempotency_key,
                           business_key=doc.business_key, revision=str(doc.revision),
                           canonical=doc.model_dump(mode="json")))
    held = DbHistory(db).purchase_order("PO-1", buyer_id="ACME")
    assert held is not None and held.revision == 1
    assert DbHistory(db, exclude_key=po(1, "7").idempotency_key).purchase_order("PO-1", buyer_id="ACME").revision == 0  # type: ignore[union-attr]
    assert [o.revision for o in DbHistory(db).orders_from_buyer("ACME", since=date(2026, 11, 1))] == [1]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_partner_rules_from_a_profile(database_url: str) -> None:
    rules = partner_rules({"id": "S1", "exceptions": {"sla_hours": {"855": 0.5}, "revision_wait_hours": 0.25}})
    assert rules.sla_hours["855"] == 0.5 and rules.sla_hours["997"] == 4 and rules.revision_wait_hours == 0.25
    assert rules.duplicate_window_days < 0  # "same content, new number" only when the partner asks for it
    assert partner_rules({"id": "S1", "exceptions": {"duplicate_window_days": 2}}).duplicate_window_days == 2
    profile = {"approvers": {"pricing-manager": ["alice"]}}
    assert may_approve(profile, "pricing-manager", name="alice", role="operator")
    assert not may_approve(profile, "pricing-manager", name="bob", role="operator")
    assert may_approve(profile, "pricing-manager", name="root", role="admin")
    assert not may_approve(profile, "pricing-manager", name="alice", role="viewer")


def test_an_order_we_sent_to_a_supplier_is_known_to_its_answers(db: Database) -> None:
    """A supplier's 855/856/810 refers to our outbound order: it is not an unknown purchase order."""
    ours = PurchaseOrder.model_validate({
        "po_number": "P-900", "order_date": "2026-11-20", "buyer": {"id": "DISTRIBUTOR"},
        "seller": {"id": "SUPPLIER"}, "lines": [{"line_number": "1", "vendor_item": "W-1", "quantity": "4"}]})
    assert DbHistory(db).purchase_order("P-900", buyer_id="DISTRIBUTOR") is None
    with db.session() as s:
        s.add(Document(partner_id="SUPPLIER", document_type="purchase_order", direction="outbound",
                       idempotency_key=ours.idempotency_key, business_key=ours.business_key, revision="0",
                       canonical=ours.model_dump(mode="json")))
    held = DbHistory(db).purchase_order("P-900", buyer_id="DISTRIBUTOR")
    assert held is not None and held.seller is not None and held.seller.id == "SUPPLIER"
    assert DbHistory(db).orders_from_buyer("DISTRIBUTOR", since=date(2026, 11, 1)) == []  # not a customer's order
