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
from connectors.erp import SalesOrder, SalesOrderItem, SapS4Config, SapS4Gateway
from hub.erp.changes import apply_order_change, current_order, plan_change
from tests.support.mock_sap import MockSap, mock_sap, mock_sap_factory  # noqa: F401

SOLD_TO = "1000001"
MATERIALS = {"1": "TG11", "2": "TG12", "3": "TG13"}


def order(revision: int = 0, purpose: str = "new", lines: tuple[tuple[str, ...], ...] = (
        ("1", "TG11", "3"), ("2", "TG12", "5"))) -> PurchaseOrder:
    """Lines are (line number, item, quantity[, change])."""
    return PurchaseOrder.model_validate({
        "po_number": "PO-CHG-1", "order_date": "2026-11-20", "currency": "EUR", "buyer": {"id": "ACME"},
        "purpose": purpose, "revision": revision,
        "lines": [{"line_number": n, "vendor_item": m, "quantity": q, "unit_price": "10.00",
                   "change": verb[0] if verb else None} for n, m, q, *verb in lines]})


CHANGE = order(1, "change", (("1", "TG11", "7"), ("3", "TG13", "2")))
CANCEL = order(2, "cancel", ())
# An 860 with POC02 CA, DI and AI (ORDCHG: LIN 1229 3, 2 and 1)
DELETE = order(1, "change", (("1", "TG11", "7", "change"), ("2", "TG12", "5", "delete"), ("3", "TG13", "2", "add")))


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


def test_fold_drops_a_deleted_line_and_keeps_no_change_verbs() -> None:
    now = current_order([DELETE, order()])
    assert now is not None and now.purpose.value == "change"
    assert [(ln.line_number, ln.quantity, ln.change) for ln in now.lines] == [("1", Decimal(7), None),
                                                                             ("3", Decimal(2), None)]
    every = order(1, "change", (("1", "TG11", "3", "delete"), ("2", "TG12", "5", "delete")))
    gone = current_order([order(), every])
    assert gone is not None and gone.lines == [] and gone.purpose.value == "cancel"


def sales_order(*items: tuple[str, str, str]) -> SalesOrder:
    return SalesOrder(sales_order="5000001", sold_to=SOLD_TO, customer_po="PO-CHG-1", currency="EUR",
                      total_net_amount=Decimal(0), items=[
                          SalesOrderItem(item=i, material=m, requested_quantity=Decimal(q), unit="PC",
                                         net_amount=Decimal(q) * 10) for i, m, q in items])


def test_plan_cancels_the_item_of_a_deleted_line_and_nothing_once_it_is_gone() -> None:
    held = sales_order(("000010", "TG11", "3"), ("000020", "TG12", "5"))
    assert [(c.action, c.item) for c in plan_change(DELETE, held, MATERIALS)] == [
        ("update", "000010"), ("insert", "000030"), ("cancel", "000020")]
    applied = sales_order(("000010", "TG11", "7"), ("000030", "TG13", "2"))
    assert plan_change(DELETE, applied, MATERIALS) == []
    # a line deleted and one added for the same material: the add keeps the open item, so a
    # second delivery cancels nothing it inserted
    swap = order(1, "change", (("2", "TG12", "5", "delete"), ("3", "TG12", "4", "add")))
    materials = {"2": "TG12", "3": "TG12"}
    assert [(c.action, c.item, c.quantity) for c in plan_change(swap, held, materials)] == [
        ("update", "000020", Decimal(4))]
    again = sales_order(("000010", "TG11", "3"), ("000020", "TG12", "4"))
    assert plan_change(swap, again, materials) == []


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
def test_a_deleted_line_leaves_the_sales_order_once(gateway: Callable[..., SapS4Gateway], mock_sap: MockSap) -> None:  # noqa: F811
    erp = gateway(item_cancellation="delete")
    number = erp.ensure_sales_order(order(), sold_to=SOLD_TO, materials=MATERIALS).sales_order

    assert apply_order_change(erp, DELETE, sold_to=SOLD_TO, materials=MATERIALS) == number
    assert items(erp, number) == [("000010", "TG11", Decimal(7), Decimal(70)), ("000030", "TG13", Decimal(2), Decimal(20))]
    assert apply_order_change(erp, DELETE, sold_to=SOLD_TO, materials=MATERIALS) == number  # delivered twice
    assert items(erp, number) == [("000010", "TG11", Decimal(7), Decimal(70)), ("000030", "TG13", Decimal(2), Decimal(20))]
    assert bapi_calls(mock_sap) == 1


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
