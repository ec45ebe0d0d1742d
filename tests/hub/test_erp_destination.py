"""The ``sap_s4`` destination's configuration and material mapping (pure logic)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from canonical.documents import PurchaseOrder
from hub.erp import ErpTarget, line_materials
from hub.partners import Destination

CONNECTION = {"base_url": "http://127.0.0.1:8000", "auth": "none"}


def po(*lines: dict[str, str]) -> PurchaseOrder:
    return PurchaseOrder(po_number="PO-1", order_date=date(2026, 11, 23), buyer={"id": "ACME"},
                         lines=[{"line_number": str(i), "quantity": Decimal(1), **ln} for i, ln in enumerate(lines, 1)])


def test_materials_come_from_the_mapping_then_the_vendor_item() -> None:
    target = ErpTarget(connection=CONNECTION, sold_to="1000001", materials={"ACME-1": "TG12", "04012345678901": "TG13"})
    order = po({"buyer_item": "ACME-1"}, {"vendor_item": "TG11"}, {"gtin": "04012345678901"}, {"buyer_item": "ACME-9"})
    assert line_materials(order, target) == {"1": "TG12", "2": "TG11", "3": "TG13"}  # line 4: none, the gateway says so
    strict = target.model_copy(update={"vendor_item_is_material": False})
    assert line_materials(order, strict) == {"1": "TG12", "3": "TG13"}


def test_a_bad_connection_or_a_missing_target_is_refused_at_load() -> None:
    with pytest.raises(ValidationError, match="connection: Value error, auth .basic. needs username"):
        ErpTarget(connection={**CONNECTION, "auth": "basic"}, sold_to="1000001")
    with pytest.raises(ValidationError, match="needs `erp`"):
        Destination(type="sap_s4")
    assert Destination(type="sap_s4", erp={"connection": CONNECTION, "sold_to": "1000001"}).erp is not None


def test_connection_values_may_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from canonical.errors import ConfigurationError
    from hub.erp import gateway_for

    conn = {**CONNECTION, "auth": "basic", "username": "CROSSDOCK", "password": "${CROSSDOCK_TEST_SAP_PASSWORD}"}
    with pytest.raises(ConfigurationError, match="not set"):
        gateway_for(conn)
    monkeypatch.setenv("CROSSDOCK_TEST_SAP_PASSWORD", "s3cret")
    gateway = gateway_for(conn)
    assert gateway.config.password is not None and gateway.config.password.get_secret_value() == "s3cret"
    assert gateway_for(conn) is gateway  # one gateway per connection: it remembers writes in doubt
