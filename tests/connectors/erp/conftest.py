"""Fixtures for the ERP gateway tests: a real mock-sap per test, and gateways pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from canonical.documents import PurchaseOrder
from connectors.erp import SapS4Config, SapS4Gateway
from tests.connectors.erp.sap_data import make_po
from tests.support.mock_sap import MockSap, mock_sap, mock_sap_factory  # noqa: F401


@pytest.fixture
def po() -> PurchaseOrder:
    return make_po()


@pytest.fixture
def gateway_for() -> Iterator[Callable[..., SapS4Gateway]]:
    """Build a gateway for a running mock-sap; config fields may be overridden."""
    made: list[SapS4Gateway] = []

    def build(sap: MockSap, **overrides: Any) -> SapS4Gateway:
        fields: dict[str, Any] = {"base_url": sap.base_url, "auth": "none",
                                  "timeout_seconds": 10.0}
        if sap.options.basic_auth:
            fields.update(auth="basic", username=sap.options.basic_auth[0],
                          password=sap.options.basic_auth[1])
        if sap.options.oauth:
            fields.update(auth="oauth2", oauth_client_id=sap.options.oauth[0],
                          oauth_client_secret=sap.options.oauth[1])
        fields.update(overrides)
        gateway = SapS4Gateway(SapS4Config(**fields))
        made.append(gateway)
        return gateway

    yield build
    for gateway in made:
        gateway.close()


@pytest.fixture
def gateway(mock_sap: MockSap, gateway_for: Callable[..., SapS4Gateway]) -> SapS4Gateway:  # noqa: F811
    return gateway_for(mock_sap)
