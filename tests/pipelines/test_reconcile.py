"""The reconciliation comparisons, over plain records (pure logic: no hub, no ERP)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from pipelines.reconcile import (
    ErpDelivery,
    ErpOrder,
    ErpPartnerDocument,
    HubOrder,
    Report,
    SentEdi,
    reconcile_billing,
    reconcile_partner_documents,
    reconcile_sales_orders,
)

D = Decimal


def hub(po: str, *, qty: str = "3", pending: bool = False, erp: str | None = None) -> HubOrder:
    return HubOrder(document_id=int(po[-1]), partner_id="ACME", business_key=f"ACME/{po}", customer_po=po,
                    sold_to="1000001", quantities={"TG11": D(qty)}, erp_number=erp, pending=pending,
                    amounts={"TG11": D(qty) * D("9.99")})


def erp(number: str, po: str, *, qty: str = "3", sold_to: str = "1000001", day: int = 23,
        amount: str | None = None) -> ErpOrder:
    return ErpOrder(number, sold_to, po, {"TG11": D(qty)}, date(2026, 11, day),
                    {"TG11": D(amount) if amount else D(qty) * D("9.99")})


def kinds(report: Report) -> list[tuple[str, str]]:
    return [(m.kind, m.subject) for m in report.mismatches]


def check(hub_orders: list[HubOrder], erp_orders: list[ErpOrder]) -> Report:
    return reconcile_sales_orders(hub_orders, erp_orders, sold_to_parties={"1000001"},
                                  since={"1000001": date(2026, 11, 1)})


def test_every_order_with_exactly_one_matching_sales_order_is_clean() -> None:
    report = check([hub("PO-1"), hub("PO-2")], [erp("11", "PO-1"), erp("12", "PO-2")])
    assert (report.checked, report.matched, kinds(report)) == (2, 2, [])


@pytest.mark.parametrize(("hub_orders", "erp_orders", "expected"), [
    ([hub("PO-1")], [], [("missing_sales_order", "ACME/PO-1")]),
    ([hub("PO-1")], [erp("11", "PO-1"), erp("12", "PO-1")], [("duplicate_sales_order", "ACME/PO-1")]),
    ([hub("PO-1")], [erp("11", "PO-1", qty="7")], [("quantity_mismatch", "ACME/PO-1")]),
    ([hub("PO-1")], [erp("11", "PO-1", amount="30.00")], [("amount_mismatch", "ACME/PO-1")]),
    ([hub("PO-1")], [erp("11", "PO-1", amount="29.974")], []),  # to the cent: the ERP rounds
    ([], [erp("11", "PO-9")], [("orphan_sales_order", "11")]),
], ids=["missing", "duplicate", "quantity", "amount", "amount-rounded", "orphan"])
def test_each_difference_is_named_once(hub_orders: list[HubOrder], erp_orders: list[ErpOrder],
                                       expected: list[tuple[str, str]]) -> None:
    report = check(hub_orders, erp_orders)
    assert kinds(report) == expected
    assert report.mismatched == len(expected) and report.checked == 1


def test_orders_waiting_in_the_outbox_are_not_missing() -> None:
    assert kinds(check([hub("PO-1", pending=True)], [])) == []


def test_other_customers_and_orders_before_the_hub_started_are_not_ours() -> None:
    old = ErpOrder("12", "1000001", "PO-OLD", {"TG11": D(1)}, date(2025, 1, 1))
    assert kinds(check([], [erp("11", "PO-X", sold_to="1000006"), old])) == []


def test_quantity_differences_name_material_ordered_and_held() -> None:
    [mismatch] = check([hub("PO-1", qty="8")], [erp("11", "PO-1", qty="12")]).mismatches
    assert mismatch.details["quantities"] == {"TG11": ["8", "12"]} and mismatch.severity == "medium"


def test_a_delivery_of_our_order_without_a_billing_document_is_not_billed() -> None:
    ours = {"11": hub("PO-1", erp="11")}
    deliveries = [ErpDelivery("8001", "1000001", frozenset({"11"})), ErpDelivery("8002", "1000006", frozenset({"99"}))]
    report = reconcile_billing(deliveries, set(), hub_sales_orders=ours)
    assert (kinds(report), report.checked) == ([("delivery_not_billed", "8001")], 1)
    billed = reconcile_billing(deliveries, {"11"}, hub_sales_orders=ours)
    assert (kinds(billed), billed.matched) == ([], 1)


NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)


def billed(number: str = "9001", amount: str = "29.97") -> ErpPartnerDocument:
    return ErpPartnerDocument("invoice", number, "ACME", "PO-1", "ACME/PO-1", 1, D(amount))


def sent(*, status: str = "sent", ack: str = "accepted", due: int = 1, lines: str = "29.97",
         erp: str | None = "9001", created: int = 0) -> SentEdi:
    return SentEdi(7, 70, "ACME", "invoice", "810", "PO-1", erp, status, ack, NOW - timedelta(hours=created),
                   NOW + timedelta(hours=due), D(lines), D("29.97"))


@pytest.mark.parametrize(("edi", "expected"), [
    ([sent()], []),
    ([sent(status="queued")], []),  # queued a moment ago: it goes with the next send
    ([], ["partner_document_missing"]),
    ([sent(erp="9002")], ["partner_document_missing"]),  # another billing document's 810
    ([sent(status="queued", created=2)], ["partner_document_unsent"]),
    ([sent(status="failed")], ["partner_document_unsent"]),
    ([sent(ack="rejected")], ["partner_document_rejected"]),
    ([sent(ack="pending")], []),  # not due yet
    ([sent(ack="pending", due=-1)], ["partner_document_unacknowledged"]),
    ([sent(lines="33.30")], ["invoice_amount_mismatch"]),
], ids=["clean", "queued", "missing", "other", "unsent", "failed", "rejected", "pending", "overdue", "amount"])
def test_each_erp_document_needs_its_edi_sent_acknowledged_and_agreeing(edi: list[SentEdi],
                                                                        expected: list[str]) -> None:
    report = reconcile_partner_documents([billed()], edi, now=NOW)
    assert [m.kind for m in report.mismatches] == expected and report.checked == 1
    assert all(m.subject == "invoice:9001" and m.document_id == 1 for m in report.mismatches)


def test_a_set_the_partner_profile_answers_itself_is_found_by_order() -> None:
    own = ErpPartnerDocument("invoice", "9001", "ACME", "PO-1", "ACME/PO-1", 1, D("29.97"), by_order=True)
    assert reconcile_partner_documents([own], [sent(erp=None)], now=NOW).mismatches == []
