"""SOAP polling against a real local order status service, the hub's real inbox and state store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from canonical.errors import BusinessException, CrossdockError, PermanentError, RetryableError
from connectors.transports.soap import WSDL_DIR
from connectors.transports.soap_poll import CursorLoop, SoapPollConfig, SoapPollSource
from connectors.xml import XmlRejected
from hub.partners import PartnerProfile
from hub.sources import ConnectorEntry, build_source
from tests.connectors.conformance import Hub, make_hub
from tests.connectors.transports.soap_poll_support import (
    PASSWORD,
    USER,
    OrderStatusService,
    answer,
    change,
    fault11,
    fault12,
    order_status_service,
)

WSDL = "order_status_changes.wsdl"
KEY = "soap_poll:ACME:default"
C1, C2, C3, C4 = (f"2026-11-23T10:0{i}:00Z" for i in range(1, 5))


@pytest.fixture
def service(tmp_path: Path) -> Iterator[OrderStatusService]:
    yield from order_status_service(tmp_path / "service")


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    hub = make_hub(tmp_path / "hub")
    yield hub
    hub.db.dispose()


def _source(service: OrderStatusService, hub: Hub, **config: Any) -> SoapPollSource:
    settings: dict[str, Any] = {"wsdl": WSDL, "endpoint": service.url, "operation": "GetOrderStatusChanges",
                                "username": USER, "password": PASSWORD, "timeout_seconds": 5, **config}
    return SoapPollSource(partner_id="ACME", config=SoapPollConfig(**settings), inbox=hub.inbox, state=hub.state)


def _cursor(hub: Hub) -> Any:
    return (hub.state.get_state(KEY) or {}).get("cursor")


def _orders(hub: Hub) -> list[bytes]:
    return [row.raw or b"" for row in hub.rows() if row.duplicate_of is None]


def test_polls_to_the_end_then_resumes_after_a_restart_asking_only_for_newer(service: OrderStatusService, hub: Hub) -> None:
    for cursor, order in ((C1, "SO-1"), (C2, "SO-2"), (C3, "SO-3")):
        service.queue(cursor, answer(cursor, [change(order, changed_at=cursor)]))
    first = _source(service, hub)
    assert first.poll() == 3
    assert [b"SO-1" in r for r in _orders(hub)] == [True, False, False]
    assert hub.state.get_state(KEY) == {"cursor": C3}
    assert service.calls == [None, C1, C2, C3]  # the last answer had no changes: the poll ends
    first.close()

    service.queue(C4, answer(C4, [change("SO-4", changed_at=C4)]))
    restarted = _source(service, hub)  # a new process: the cursor comes from the state store
    assert restarted.poll() == 1
    assert service.calls[4:] == [C3, C4]
    assert len(_orders(hub)) == 4 and b"SO-4" in _orders(hub)[-1]
    assert hub.jobs() == 4


def test_a_poll_that_fails_midway_keeps_what_was_stored_and_resumes_after_it(service: OrderStatusService, hub: Hub) -> None:
    for i, cursor in enumerate((C1, C2, C3), 1):
        service.queue(cursor, answer(cursor, [change(f"SO-{i}")]))
    source = _source(service, hub)
    source.poll()
    service.calls.clear()
    hub_rows = len(hub.rows())
    service.queue(C4, answer(C4, [change("SO-4")]))
    service.answer_next("500 Internal Server Error", fault11("Server", "Order database is restarting"))
    with pytest.raises(RetryableError):
        source.poll()
    assert hub.state.get_state(KEY) == {"cursor": C3} and len(hub.rows()) == hub_rows
    assert source.poll() == 1 and service.calls == [C3, C3, C4]


FAULTS = [
    ("client", fault11("Client", "Unknown order number format"), PermanentError, "soap.client_fault", 11),
    ("business", fault11("Client", "Account on credit hold", "CREDIT_HOLD"), BusinessException,
     "soap.business_fault", 11),
    ("server", fault11("Server", "Order database is restarting"), RetryableError, "soap.server_fault", 11),
    ("sender-1.2", fault12("Sender", "Invalid cursor"), PermanentError, "soap.client_fault", 12),
    ("receiver-1.2", fault12("Receiver", "Backend not available"), RetryableError, "soap.server_fault", 12),
]


@pytest.fixture
def soap12_wsdl(tmp_path: Path) -> str:
    """The same service bound to SOAP 1.2 (a partner answering env:Sender / env:Receiver)."""
    path = tmp_path / "order_status_soap12.wsdl"
    path.write_text((WSDL_DIR / WSDL).read_text().replace(
        "http://schemas.xmlsoap.org/wsdl/soap/", "http://schemas.xmlsoap.org/wsdl/soap12/"))
    return str(path)


@pytest.mark.parametrize(("case", "body", "error", "code", "version"), FAULTS, ids=[f[0] for f in FAULTS])
def test_soap_faults_are_classified_and_nothing_moves(service: OrderStatusService, hub: Hub, soap12_wsdl: str, case: str,
                                                      body: bytes, error: type[CrossdockError], code: str,
                                                      version: int) -> None:
    service.queue(C1, answer(C1, [change("SO-1")]))
    kind = "application/soap+xml; charset=utf-8" if version == 12 else "text/xml; charset=utf-8"
    service.answer_next("500 Internal Server Error", body, kind)
    source = _source(service, hub, wsdl=soap12_wsdl if version == 12 else WSDL,
                     business_faults=frozenset({"CREDIT_HOLD"}))
    with pytest.raises(error) as caught:
        source.poll()
    assert type(caught.value) is error and caught.value.code == code and caught.value.partner == "ACME"
    assert caught.value.details["operation"] == "GetOrderStatusChanges"
    assert hub.rows() == [] and _cursor(hub) is None  # the same call is made next time


@pytest.mark.parametrize(("status", "kind", "error", "code"), [
    ("503 Service Unavailable", "text/html", RetryableError, "soap.unavailable"),
    ("401 Unauthorized", "text/plain", PermanentError, "soap.unauthorized"),
], ids=["503-page", "401"])
def test_gateway_answers_that_are_no_soap_are_classified(service: OrderStatusService, hub: Hub, status: str, kind: str,
                                                        error: type[CrossdockError], code: str) -> None:
    service.answer_next(status, b"<html>down for maintenance</html>", kind)
    with pytest.raises(error) as caught:
        _source(service, hub).poll()
    assert caught.value.code == code and hub.rows() == []


def test_wrong_credentials_are_refused_by_the_service_as_a_client_fault(service: OrderStatusService, hub: Hub) -> None:
    with pytest.raises(PermanentError, match="authentication failed") as caught:
        _source(service, hub, password="not-the-password").poll()
    assert caught.value.code == "soap.client_fault"


BOMB = (b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
        + answer(C1, [change("&d;")]).split(b"?>", 1)[1])
XXE = (b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
       + answer(C1, [change("&x;")]).split(b"?>", 1)[1])


@pytest.mark.parametrize("body", [BOMB, XXE], ids=["xml-bomb", "external-entity"])
def test_hostile_xml_is_refused_and_never_stored(service: OrderStatusService, hub: Hub, body: bytes) -> None:
    service.answer_next("200 OK", body)
    with pytest.raises(XmlRejected) as caught:
        _source(service, hub).poll()
    assert caught.value.code == "xml.forbidden" and caught.value.partner == "ACME"
    assert hub.rows() == [] and _cursor(hub) is None
    service.queue(C1, answer(C1, [change("SO-1")]))
    assert _source(service, hub).poll() == 1  # the next, harmless answer is taken as usual


def test_an_answer_that_does_not_move_the_cursor_stops_the_poll(service: OrderStatusService, hub: Hub) -> None:
    looping = answer(C1, [change("SO-1")])
    service.answer_next("200 OK", looping)
    service.answer_next("200 OK", looping)
    with pytest.raises(CursorLoop, match="without a new cursor"):
        _source(service, hub).poll()
    assert len(service.calls) == 2 and hub.state.get_state(KEY) == {"cursor": C1}


def test_partners_configure_it_in_their_profile_and_mistakes_name_the_field(service: OrderStatusService, hub: Hub) -> None:
    base: dict[str, Any] = {"wsdl": WSDL, "endpoint": service.url, "operation": "GetOrderStatusChanges",
                            "username": USER, "password": PASSWORD}
    entry: dict[str, Any] = {"type": "soap_poll", "name": "status", "every_seconds": 300, "config": base}
    profile = PartnerProfile(id="ACME", name="Acme", connectors=[entry])
    source = build_source("ACME", profile.connectors[0], inbox=hub.inbox, state=hub.state, node="n1")
    assert isinstance(source, SoapPollSource) and source.key == "soap_poll:ACME:status"
    assert PASSWORD not in repr(source.config)
    mistakes: list[tuple[dict[str, Any], str]] = [
        ({"operation": None}, "operation"), ({"wsdl": "partner.wsdl"}, "wsdl"), ({"max_calls": 0}, "max_calls")]
    for broken, field in mistakes:
        config = {k: v for k, v in {**base, **broken}.items() if v is not None}
        with pytest.raises(ValidationError, match=rf"connectors\.0\.config\.{field}"):
            PartnerProfile(id="ACME", name="Acme", connectors=[{**entry, "config": config}])
    assert ConnectorEntry.model_validate(entry).type == "soap_poll"


def test_errors_are_crossdock_errors_with_evidence(service: OrderStatusService, hub: Hub) -> None:
    service.answer_next("200 OK", b"<not-closed>")
    with pytest.raises(CrossdockError) as caught:
        _source(service, hub).poll()
    assert caught.value.code == "soap.bad_reply" and hub.rows() == []
