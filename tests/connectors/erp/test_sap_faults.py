"""Faults on the sales order POST: classified, evidence kept, and still exactly one order.

Each row injects one fault into mock-sap's next ``POST .../A_SalesOrder`` and then plays
the hub's part: call ``ensure_sales_order`` again after a ``RetryableError`` until it
succeeds. Whatever happened, mock-sap ends up holding exactly one order for the PO.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from canonical.errors import CrossdockError, PermanentError, RetryableError
from connectors.erp import EnsureResult, SapS4Gateway, WriteInDoubt
from tests.connectors.erp.sap_data import MATERIALS, SOLD_TO
from tests.support.mock_sap import MockSap

pytestmark = pytest.mark.mock_sap

SO_POST = r"/A_SalesOrder$"


def ensure_like_the_hub(call: Callable[[], EnsureResult], *, attempts: int = 20,
                        pause: float = 0.2) -> tuple[EnsureResult, list[RetryableError]]:
    """The caller's retry loop, with waits capped so a 30 s Retry-After does not stall a test."""
    seen: list[RetryableError] = []
    for _ in range(attempts):
        try:
            return call(), seen
        except RetryableError as exc:
            seen.append(exc)
            time.sleep(min(exc.retry_after or pause, pause))
    raise AssertionError(f"still failing after {attempts} attempts: {seen!r}")


def orders_for(sap: MockSap, po_number: str) -> list[dict]:
    return sap.control.odata(
        "A_SalesOrder", filter=f"PurchaseOrderByCustomer eq '{po_number}' and SoldToParty eq '{SOLD_TO}'")


def so_posts(sap: MockSap) -> list[dict]:
    return [r for r in sap.control.requests(limit=100)
            if r["method"] == "POST" and r["path"].endswith("/A_SalesOrder")]


@pytest.mark.parametrize(("scenario", "status", "code", "retry_after"), [
    ("busy", 503, "erp.unavailable", 30.0),
    ("lock", 423, "erp.locked", None),
    ("error", 500, "erp.server_error", None),
])
def test_transient_fault_is_retryable_and_the_retry_creates_one_order(
        gateway, mock_sap, po, scenario, status, code, retry_after):
    mock_sap.control.add_fault(match=SO_POST, method="POST", scenario=scenario, count=1)

    result, errors = ensure_like_the_hub(
        lambda: gateway.ensure_sales_order(po, sold_to=SOLD_TO, materials=MATERIALS))

    assert [e.code for e in errors] == [code]
    assert errors[0].retry_after == retry_after
    evidence = errors[0].details
    assert (evidence["status"], evidence["method"]) == (status, "POST")
    assert evidence["sap_message"] and evidence["request_id"]
    assert result.created
    assert [o["SalesOrder"] for o in orders_for(mock_sap, po.po_number)] == [result.sales_order]


@pytest.mark.parametrize("scenario", ["csrf", "expired-token"])
def test_stale_credentials_are_refreshed_and_the_post_sent_once_more(
        mock_sap_factory, gateway_for, po, scenario):
    sap = mock_sap_factory(oauth=("CROSSDOCK", "s3cret"))
    gateway = gateway_for(sap)
    sap.control.add_fault(match=SO_POST, method="POST", scenario=scenario, count=1)

    result = gateway.ensure_sales_order(po, sold_to=SOLD_TO, materials=MATERIALS)

    assert result.created
    assert [r["status"] for r in so_posts(sap)] == [201, 403 if scenario == "csrf" else 401]  # newest first
    assert len(orders_for(sap, po.po_number)) == 1


def test_csrf_failure_that_persists_is_retryable(gateway, mock_sap, po):
    mock_sap.control.add_fault(match=SO_POST, method="POST", scenario="csrf", count=2)

    with pytest.raises(RetryableError) as caught:
        gateway.ensure_sales_order(po, sold_to=SOLD_TO, materials=MATERIALS)

    assert caught.value.code == "erp.csrf"
    assert len(so_posts(mock_sap)) == 2  # one refresh, never a loop
    assert orders_for(mock_sap, po.po_number) == []


def test_expired_token_that_persists_is_retryable(mock_sap_factory, gateway_for, po):
    sap = mock_sap_factory(oauth=("CROSSDOCK", "s3cret"))
    sap.control.add_fault(match=SO_POST, method="POST", scenario="expired-token", count=2)

    with pytest.raises(RetryableError) as caught:
        gateway_for(sap).ensure_sales_order(po, sold_to=SOLD_TO, materials=MATERIALS)

    assert caught.value.code == "erp.token_expired"


@pytest.mark.parametrize("scenario", ["auth", "forbidden"])
def test_authorization_failure_is_permanent(gateway, mock_sap, po, scenario):
    mock_sap.control.add_fault(match=SO_POST, method="POST", scenario=scenario, count=1)

    with pytest.raises(PermanentError) as caught:
        gateway.ensure_sales_order(po, sold_to=SOLD_TO, materials=MATERIALS)

    assert caught.value.code == "erp.unauthorized"
    assert caught.value.details["status"] in (401, 403)


def test_revoked_bearer_token_is_replaced_transparently(mock_sap_factory, gateway_for, po):
    sap = mock_sap_factory(oauth=("CROSSDOCK", "s3cret"))
    gateway = gateway_for(sap)
    assert gateway.find_sales_order(customer_po=po.po_number, sold_to=SOLD_TO) is None
    sap.control.revoke_tokens()

    assert gateway.ensure_sales_order(po, sold_to=SOLD_TO, materials=MATERIALS).created


def test_bearer_token_is_fetched_again_when_it_runs_out(mock_sap_factory, gateway_for, po):
    sap = mock_sap_factory(oauth=("CROSSDOCK", "s3cret"), token_ttl=1)
    gateway = gateway_for(sap)
    assert gateway.find_sales_order(customer_po=po.po_number, sold_to=SOLD_TO) is None
    time.sleep(1.2)

    assert gateway.ensure_sales_order(po, sold_to=SOLD_TO, materials=MATERIALS).created


def test_wrong_oauth_secret_is_permanent(mock_sap_factory, gateway_for, po):
    sap = mock_sap_factory(oauth=("CROSSDOCK", "s3cret"))

    with pytest.raises(PermanentError) as caught:
        gateway_for(sap, oauth_client_secret="wrong").find_sales_order(
            customer_po=po.po_number, sold_to=SOLD_TO)

    assert caught.value.code == "erp.unauthorized"


def test_wrong_password_is_permanent(mock_sap_factory, gateway_for, po):
    sap = mock_sap_factory(basic_auth=("CROSSDOCK", "right"))
    gateway = gateway_for(sap, password="wrong")

    with pytest.raises(PermanentError) as caught:
        gateway.find_sales_order(customer_po=po.po_number, sold_to=SOLD_TO)

    assert caught.value.code == "erp.unauthorized"


def test_basic_auth_works_end_to_end(mock_sap_factory, gateway_for, po):
    sap = mock_sap_factory(basic_auth=("CROSSDOCK", "right"))

    result = gateway_for(sap).ensure_sales_order(po, sold_to=SOLD_TO, materials=MATERIALS)

    assert result.created and sap.control.count(
        "A_SalesOrder", filter=f"PurchaseOrderByCustomer eq '{po.po_number}'") == 1


def test_write_that_lands_after_the_client_gave_up_is_found_not_repeated(
        mock_sap_factory, gateway_for, po):
    sap = mock_sap_factory(slow_ms=1500)
    gateway = gateway_for(sap, timeout_seconds=0.5, in_doubt_hold_seconds=3.0)
    sap.control.add_fault(match=SO_POST, method="POST", scenario="slow", count=1)

    result, errors = ensure_like_the_hub(
        lambda: gateway.ensure_sales_order(po, sold_to=SOLD_TO, materials=MATERIALS))

    assert isinstance(errors[0], WriteInDoubt)
    assert {e.code for e in errors} <= {"erp.timeout", "erp.write_in_doubt"}
    assert result.created is False  # found by the lookup, not written again
    assert [o["SalesOrder"] for o in orders_for(sap, po.po_number)] == [result.sales_order]
    assert len(so_posts(sap)) == 1


def test_unreachable_erp_is_retryable(gateway_for, mock_sap_factory, po):
    sap = mock_sap_factory()
    gateway = gateway_for(sap)
    sap.stop()

    with pytest.raises(RetryableError) as caught:
        gateway.find_sales_order(customer_po=po.po_number, sold_to=SOLD_TO)

    assert caught.value.code == "erp.unreachable"
    assert isinstance(caught.value, CrossdockError)


def test_gateway_is_an_erp_gateway(gateway):
    from connectors.erp import ErpGateway

    assert isinstance(gateway, ErpGateway) and isinstance(gateway, SapS4Gateway)
