"""SOAP polling passes the shared connector conformance suite against a real local SOAP service.

A payload is one answer of the partner's ``GetOrderStatusChanges`` (its ``NextCursor`` is the
answer's place in line); it is pending while the saved cursor has not moved past it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from connectors.base import Inbox
from connectors.transports.soap_poll import SoapPollConfig, SoapPollSource
from tests.connectors.conformance import Hub, SourceConformance, SourceHarness
from tests.connectors.transports.soap_poll_support import (
    PASSWORD,
    USER,
    OrderStatusService,
    answer,
    change,
    order_status_service,
)


class SoapPollHarness:
    config_model = SoapPollConfig
    secrets: Sequence[str] = (PASSWORD,)
    invalid_values: Sequence[tuple[str, Any]] = [
        ("timeout_seconds", 0), ("max_calls", 0), ("credentials", "kerberos"), ("cursor_field", ""),
        ("lease_seconds", -1),
    ]

    def __init__(self, service: OrderStatusService, hub: Hub) -> None:
        self.service, self.hub = service, hub
        self.cursor_of: dict[str, str] = {}  # sha256 of an answer -> its cursor
        self.names: dict[str, str] = {}

    def valid_config(self) -> dict[str, Any]:
        return {"wsdl": "order_status_changes.wsdl", "endpoint": self.service.url,
                "operation": "GetOrderStatusChanges", "username": USER, "password": PASSWORD,
                "document_type": "order_status", "timeout_seconds": 30}

    def _next_cursor(self) -> str:
        return f"2026-11-23T10:00:00Z#{len(self.cursor_of) + 1:06d}"

    def make_payload(self, label: str) -> bytes:
        cursor = self._next_cursor()
        body = answer(cursor, [change(f"{label}-{cursor[-6:]}", changed_at=cursor[:20])])
        self.cursor_of[hashlib.sha256(body).hexdigest()] = cursor
        return body

    def expected_stored(self, payload: bytes) -> bytes:
        return payload  # the answer's body exactly as the service sent it

    def write_large_payload(self, path: Path, size: int) -> str:
        """Many order changes with a short note each, filled up to ``size`` in the last note."""
        cursor = self._next_cursor()
        one = change("SO-0000000", note="x" * 200)
        many = [one] * (size // len(one) - 2)
        fill = size - len(answer(cursor, many)) - len(change("SO-last", note="x")) + 1
        body = answer(cursor, [*many, change("SO-last", note="x" * fill)])
        assert len(body) == size
        path.write_bytes(body)
        self.cursor_of[hashlib.sha256(body).hexdigest()] = cursor
        return hashlib.sha256(body).hexdigest()

    def offer(self, name: str, payload: bytes | Path) -> None:
        data = payload.read_bytes() if isinstance(payload, Path) else payload
        cursor = self.cursor_of[hashlib.sha256(data).hexdigest()]
        self.service.queue(cursor, payload)
        self.names[name] = cursor

    def take(self, inbox: Inbox) -> None:
        source = SoapPollSource(partner_id="ACME", config=SoapPollConfig.model_validate(self.valid_config()),
                                inbox=inbox, state=self.hub.state, name="status", node_id="conformance")
        try:
            source.poll()
        finally:
            source.close()

    def pending(self, name: str) -> bool:
        cursor = (self.hub.state.get_state("soap_poll:ACME:status") or {}).get("cursor")
        return cursor is None or str(cursor) < self.names[name]


@pytest.fixture
def service(tmp_path: Path) -> Iterator[OrderStatusService]:
    yield from order_status_service(tmp_path / "service")


class TestSoapPollConformance(SourceConformance):
    large_payload_bytes = 4 * 1024 * 1024  # one answer of ~18,000 order changes, read whole by zeep
    memory_budget_ratio = 5.0  # measured: 4.3 at 1, 4 and 8 MiB (the body, zeep's objects, the stored copy)

    @pytest.fixture
    def harness(self, service: OrderStatusService, hub: Hub) -> SourceHarness:
        return SoapPollHarness(service, hub)
