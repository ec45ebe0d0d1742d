"""The reconciliation window as an operator sees it, through a running hub and the real mock-sap.

With ``CROSSDOCK_RECONCILE_WINDOW_DAYS=30`` an order the ERP never got is reported while it is
inside the window; once it was received more than 30 days ago it is neither read nor reported.
Each run asks the ERP only for what changed in the last 30 days (mock-sap's request log shows
the delta token it was given).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import pytest
from sqlalchemy import create_engine, update

from hub.storage.tables import Document
from tests.e2e.erp_support import FAST_RETRIES, add_erp_customer, erp_number, order, post_order
from tests.e2e.test_erp_reconcile import run
from tests.support.hubproc import HubProcess
from tests.support.mock_sap import MockSap

WINDOW_DAYS = 30


@pytest.fixture
def windowed_hub(tmp_path: Path, database_url: str, mock_sap: MockSap) -> Iterator[HubProcess]:
    hub = HubProcess(tmp_path / "hub", database_url=database_url,
                     env={**FAST_RETRIES, "CROSSDOCK_RECONCILE_WINDOW_DAYS": str(WINDOW_DAYS)}).start()
    add_erp_customer(hub, mock_sap.base_url)
    try:
        yield hub
    finally:
        hub.close()


def sales_order_reads(sap: MockSap, after: int) -> list[str | None]:
    """The delta token of each read of the sales order collection after request ``after``."""
    out: list[str | None] = []
    for r in sap.control.requests(limit=200):
        query = unquote((r["query"] or "").replace("+", " "))
        if r["id"] > after and r["method"] == "GET" and r["path"].endswith("/A_SalesOrder") \
                and "PurchaseOrderByCustomer eq" not in query:  # not a look-up of one customer PO
            token = re.search(r"!deltatoken='?(D\d{8}T\d{9})", query)
            out.append(token.group(1) if token else None)
    return out


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
def test_an_order_missing_in_the_erp_is_reported_inside_the_window_and_not_once_older(
        windowed_hub: HubProcess, mock_sap: MockSap, database_url: str) -> None:
    post_order(windowed_hub, order("PO-WIN-OK"))
    erp_number(windowed_hub, "ACME/PO-WIN-OK")
    mock_sap.control.add_fault(match="A_SalesOrder$", method="POST", scenario="auth", count=1)
    post_order(windowed_hub, order("PO-WIN-LOST"))  # refused by the ERP: dead-lettered, never written
    windowed_hub.wait_for(lambda: windowed_hub.client.get("/api/v1/deadletters").json()["items"])

    before = int(mock_sap.control.requests(limit=1)[0]["id"])
    inside = run(windowed_hub, "sales_orders")
    missing = [m["subject"] for m in inside["mismatches"] if m["kind"] == "missing_sales_order"]
    assert missing == ["ACME/PO-WIN-LOST"], inside
    tokens = sales_order_reads(mock_sap, before)
    assert tokens and tokens[0] is not None and None not in tokens, tokens  # never the whole collection
    asked = datetime.strptime(tokens[0][1:16], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    assert abs(asked - (datetime.now(UTC) - timedelta(days=WINDOW_DAYS))) < timedelta(minutes=5), tokens

    # the same order, received 31 days ago: outside the window, it is no longer read or reported
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(update(Document).where(Document.business_key == "ACME/PO-WIN-LOST")
                     .values(created_at=datetime.now(UTC) - timedelta(days=WINDOW_DAYS + 1)))
    engine.dispose()
    older = run(windowed_hub, "sales_orders")
    assert older["status"] == "finished", older
    assert not [m for m in older["mismatches"] if m["kind"] == "missing_sales_order"], older
    assert older["matched"] == 1  # PO-WIN-OK, still inside
