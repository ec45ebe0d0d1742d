"""A customer's order change or cancel applied to its sales order in mock-sap (BAPI over SOAP).

The end-to-end path (860 from mock-edi, through the hub, with faults) is in
``tests/e2e/test_erp_changes.py``; here the planning, the idempotence and the refusals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from canonical.documents import PurchaseOrder
from canonical.errors import BusinessException, RetryableError
from connectors.erp import SapS4Config, SapS4Gateway
from hub.erp.changes import apply_order_change, current_order
from tests.support.mock_sap import MockSap, mock_sap, mock_sap_factory  # noqa: F401

SOLD_TO = "1000001"
MATERIALS = {"1": "TG11", "2": "TG12", "3": "TG13"}


def order(revision: int = 0, purpose: str = "new", lines: tuple[tuple[str, str, str], ...] = (
        ("1", "TG11", "3"), ("2", "TG12", "5"))) -> PurchaseOrder:
    return PurchaseOrder.model_validate({
        "po_number": "PO-CHG-1", "order_date": "2026-11-20", "currency": "EUR", "buyer": {"id": "ACME"},
        "purpose": purpose, "revision": revision,
        "lines": [{"line_number": n, "vendor_item": m, "quantity": q, "unit_price": "10.00"} for n, m, q in lines]})


CHANGE = order(1, "change", (("1", "TG11", "7"), ("3", "TG13", "2")))
CANCEL = order(2, "cancel", ())


@pytest.fixture
def gateway(mock_sap: MockSap) -> Iterator[Callable[..., SapS4Gateway]]:  # noqa: F811
    made: list[SapS4Gateway] = []

    def build(**fields: Any) -> SapS4Gateway:
        made.append(SapS4Gateway(SapS4Config(base_url=mock_sap.base_url, auth="none", **fields)))
        return made[-1]
    yield build
    for g in made:
        g.close()


def items(gateway: SapS4Gateway, number: str) -> list[tuple[str, str, Decimal, Decimal]]:
    so = gateway.read_sales_order(number)
    assert so is not None
    return [(i.item, i.material, i.requested_quantity, i.net_amount) for i in so.items]


def bapi_calls(sap: MockSap) -> int:
    rows = httpx.get(f"{sap.base_url}/_mock/rfc-log", params={"limit": 100}, timeout=10).json()["results"]
    return sum(1 for r in rows if r["function_name"] == "BAPI_SALESORDER_CHANGE")


def test_fold_of_revisions_keeps_unnamed_lines_adds_new_ones_and_cancel_empties() -> None:
    now = current_order([CHANGE, order()])
    assert now is not None and now.revision == 1
    assert [(ln.line_number, ln.quantity) for ln in now.lines] == [("1", Decimal(7)), ("2", Decimal(5)),
                                                                   ("3", Decimal(2))]
    gone = current_order([order(), CHANGE, CANCEL])
    assert gone is not None and gone.lines == [] and gone.purpose.value == "cancel"


@pytest.mark.mock_sap
def test_change_then_cancel_each_change_once(gateway: Callable[..., SapS4Gateway], mock_sap: MockSap) -> None:  # noqa: F811
    erp = gateway(item_cancellation="delete")
    number = erp.ensure_sales_order(order(), sold_to=SOLD_TO, materials=MATERIALS).sales_order

    assert apply_order_change(erp, CHANGE, sold_to=SOLD_TO, materials=MATERIALS) == number
    assert items(erp, number) == [("000010", "TG11", Decimal(7), Decimal(70)), ("000020", "TG12", Decimal(5), Decimal(50)),
                                  ("000030", "TG13", Decimal(2), Decimal(20))]
    calls = bapi_calls(mock_sap)
    assert apply_order_change(erp, CHANGE, sold_to=SOLD_TO, materials=MATERIALS) == number  # delivered twice
    assert bapi_calls(mock_sap) == calls == 1

    assert apply_order_change(erp, CANCEL, sold_to=SOLD_TO, materials=MATERIALS) == number
    assert items(erp, number) == []
    assert apply_order_change(erp, CANCEL, sold_to=SOLD_TO, materials=MATERIALS) == number
    assert bapi_calls(mock_sap) == 2


@pytest.mark.mock_sap
def test_a_change_the_erp_refuses_or_does_not_apply_is_a_case(
        gateway: Callable[..., SapS4Gateway], mock_sap: MockSap) -> None:  # noqa: F811
    erp = gateway()
    with pytest.raises(RetryableError) as waiting:  # the original is not in the ERP yet
        apply_order_change(erp, CHANGE, sold_to=SOLD_TO, materials=MATERIALS)
    assert waiting.value.code == "erp.waiting_for_sales_order"
    assert apply_order_change(erp, CANCEL, sold_to=SOLD_TO, materials=MATERIALS) is None

    number = erp.ensure_sales_order(order(), sold_to=SOLD_TO, materials=MATERIALS).sales_order
    httpx.post(f"{mock_sap.base_url}/_mock/bapi-behaviour", timeout=10, json={
        "function": "BAPI_SALESORDER_CHANGE", "type": "E", "id": "V1", "number": "849",
        "message": f"Credit limit exceeded for customer {SOLD_TO}", "count": 1}).raise_for_status()
    with pytest.raises(BusinessException) as refused:
        apply_order_change(erp, CHANGE, sold_to=SOLD_TO, materials=MATERIALS)
    assert refused.value.code == "erp.rejected.credit_limit"
    assert items(erp, number)[0][2] == Decimal(3)

    # mock-sap keeps no reason for rejection, so a rejected item still reads as open: not applied
    with pytest.raises(BusinessException) as unapplied:
        apply_order_change(erp, CANCEL, sold_to=SOLD_TO, materials=MATERIALS)
    assert unapplied.value.code == "erp.rejected.change_not_applied"
    assert [c["item"] for c in unapplied.value.details["not_applied"]] == ["000010", "000020"]
