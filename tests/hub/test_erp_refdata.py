"""Reference data from the real mock-sap: full read first, then only what changed."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from hub.erp.refdata_sync import ErpReferenceSync
from hub.ops.refdata import import_dataset, load_dataset
from hub.storage.db import Database
from hub.storage.tables import Partner
from pipelines.refdata import Customer, ReferenceDataSet
from tests.support.mock_sap import MockSap
from tests.support.services import sqlite_database


def test_products_and_the_sold_to_party_arrive_and_a_central_block_follows(tmp_path: Path, mock_sap: MockSap) -> None:
    db = Database(sqlite_database(tmp_path / "hub.db"))
    dest = {"type": "sap_s4", "erp": {"connection": {"base_url": mock_sap.base_url, "auth": "none"},
                                      "sold_to": "1000001", "materials": {"ACME-WID": "TG11"},
                                      "sync_reference_data": True}}
    with db.session() as s:
        s.add(Partner(id="ACME", name="Acme", role="customer", profile={"destinations": [dest]}))
        import_dataset(s, ReferenceDataSet(customers=(Customer(id="ACME", credit_limit=Decimal(5000)),)))
    sync = ErpReferenceSync(db)

    assert sync.run() == {"items": 10, "customers": 1}
    with db.reader() as s:
        data = load_dataset(s)
    items = {i.item_number: i for i in data.items}
    assert "EA" in {i.base_uom for i in data.items}
    assert [(r.partner_id, r.item) for r in items["TG11"].buyer_refs] == [("ACME", "ACME-WID")]
    [acme] = data.customers
    assert (acme.name, acme.credit_status, acme.credit_limit) == ("Becker Berlin", "ok", Decimal(5000))

    assert sync.run() == {"items": 0, "customers": 0}  # nothing changed since the last token
    mock_sap.control.patch("A_BusinessPartner", "1000001", {"BusinessPartnerIsBlocked": True})
    assert sync.run() == {"items": 0, "customers": 1}
    with db.reader() as s:
        [acme] = load_dataset(s).customers
        assert s.scalar(select(Partner.id)) == "ACME"
    assert (acme.credit_status, acme.credit_limit) == ("hold", Decimal(5000))
    db.dispose()
