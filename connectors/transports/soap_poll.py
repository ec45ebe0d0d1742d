"""``SoapPollSource``: call a partner's SOAP operation periodically and store each answer raw.

Each call sends the saved cursor as one argument of the operation (``Since``) and reads the
next cursor from the answer (``NextCursor``). An answer with records is stored in the inbox
exactly as its body arrived, and only then is its cursor saved (state key
``soap_poll:<partner>:<name>``), so a crash between the two makes the next poll ask again and
the inbox recognise the answer as already seen. A poll calls until an answer has no records.

The answer is read by zeep with the hardened settings of :mod:`connectors.transports.soap`
(no DTD, entities or external references) before anything is stored; faults and failures
are classified by :func:`connectors.transports.soap_errors.classify_soap_error`::

    CrossdockError
    ├── RetryableError      soap.server_fault, soap.unavailable  (nothing stored, cursor kept)
    ├── PermanentError      soap.client_fault, soap.unauthorized, soap_poll.cursor_loop
    ├── BusinessException   soap.business_fault
    └── ParseError
        └── XmlRejected     xml.forbidden  (an XML bomb or external entity in the answer)
"""

from __future__ import annotations

import socket
import uuid
from pathlib import Path
from typing import Any, ClassVar

import requests
from pydantic import Field, field_validator
from zeep.exceptions import TransportError, XMLSyntaxError
from zeep.helpers import serialize_object

from canonical.errors import PermanentError
from connectors.base import Connector, Inbox, Receipt, StateStore
from connectors.transports.rest_poll.paginators import dig
from connectors.transports.soap import WSDL_DIR, SoapClient, SoapConfig
from connectors.transports.soap_errors import classify_soap_error

__all__ = ["CursorLoop", "SoapPollConfig", "SoapPollSource"]


class CursorLoop(PermanentError):
    """The service answered records without moving its cursor: asking again would never end."""

    code = "soap_poll.cursor_loop"


class SoapPollConfig(SoapConfig):
    """A SOAP operation polled for documents, on top of the service settings of ``SoapConfig``.

    Usage:
        SoapPollConfig(wsdl="order_status_changes.wsdl", endpoint="https://partner.example/soap",
                       operation="GetOrderStatusChanges", username="CROSSDOCK", password="…")
    """

    operation: str = Field(title="Operation", description="The WSDL operation to call",
                           examples=["GetOrderStatusChanges"])
    arguments: dict[str, str] = Field(default_factory=dict, title="Fixed arguments",
                                      description="Sent with every call besides the cursor")
    cursor_argument: str = Field("Since", min_length=1, title="Cursor argument",
                                 description="The operation's argument that carries the saved cursor")
    cursor_field: str = Field("NextCursor", min_length=1, title="Cursor field",
                              description="Dotted path of the next cursor in the answer")
    records_field: str | None = Field(
        "Changes.Change", title="Records field",
        description="Dotted path of the records in the answer; an answer without any is not stored. "
                    "None: every answer is stored",
    )
    initial_cursor: str | None = Field(None, description="Cursor sent on the very first poll (None: omitted)")
    document_type: str | None = Field(None, title="Document type",
                                      description="Hint stored on each receipt, e.g. `order_status`")
    max_calls: int = Field(1_000, gt=0, description="Safety stop: calls in one poll")
    lease_seconds: float = Field(600.0, gt=0, description="How long one node holds the source while polling")

    @field_validator("wsdl")
    @classmethod
    def _wsdl_is_kept(cls, value: str) -> str:
        if not (Path(value) if Path(value).is_absolute() else WSDL_DIR / value).is_file():
            raise ValueError(f"no WSDL {value!r} in {WSDL_DIR} (WSDLs are kept in the repository, never fetched)")
        return value


class _Cursor:
    """The cursor of one poll; a value seen before with records means the service loops."""

    def __init__(self, start: str | None) -> None:
        self.current = start
        self._seen = {start}

    def advance(self, new: Any, *, partner: str) -> None:
        if new is None or str(new) in self._seen:
            raise CursorLoop(f"the service answered records without a new cursor (got {new!r} after "
                             f"{self.current!r}); stopping instead of asking again",
                             partner=partner, details={"cursor": new, "previous": self.current})
        self.current = str(new)
        self._seen.add(self.current)


class SoapPollSource(Connector):
    """Polls one SOAP operation into the inbox, resuming from the cursor saved after each store.

    Usage:
        source = SoapPollSource(partner_id="ACME", config=config, inbox=inbox, state=state)
        stored = source.poll()      # answers newly stored; 0 when another node holds the lease
    """

    kind: ClassVar[str] = "soap_poll"
    config_model: ClassVar[type[SoapPollConfig]] = SoapPollConfig
    config: SoapPollConfig

    def __init__(self, *, partner_id: str, config: SoapPollConfig, inbox: Inbox, state: StateStore,
                 name: str = "default", node_id: str | None = None) -> None:
        super().__init__(partner_id=partner_id, config=config, inbox=inbox)
        self.state = state
        self.key = f"soap_poll:{partner_id}:{name}"
        self.node_id = node_id or f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self.client = SoapClient(config, partner_id=partner_id)
        self._binding: Any = self.client.zeep.wsdl.bindings[next(iter(self.client.zeep.wsdl.bindings))]  # SOAP 1.1/1.2

    def poll(self) -> int:
        if not self.state.try_lease(self.key, self.node_id, self.config.lease_seconds):
            return 0
        try:
            return self._run()
        finally:
            self.state.release_lease(self.key, self.node_id)

    def close(self) -> None:
        self.client.zeep.transport.session.close()

    def _run(self) -> int:
        cfg = self.config
        cursor = _Cursor((self.state.get_state(self.key) or {}).get("cursor", cfg.initial_cursor))
        stored = 0
        for _ in range(cfg.max_calls):
            response, result = self._call(cursor.current)
            records = self._records(result)
            if records == 0:
                break
            stored += 0 if self._store(response, cursor.current, records) else 1
            cursor.advance(dig(result, cfg.cursor_field), partner=self.partner_id)
            self.state.put_state(self.key, {"cursor": cursor.current})  # only now: the answer is stored
            self.state.try_lease(self.key, self.node_id, cfg.lease_seconds)  # renew while working
        return stored

    def _call(self, cursor: str | None) -> tuple[requests.Response, Any]:
        """One call: the raw HTTP answer, and its result read by zeep (faults raised, classified)."""
        cfg = self.config
        arguments = {**cfg.arguments, **({cfg.cursor_argument: cursor} if cursor is not None else {})}
        try:
            with self.client.zeep.settings(raw_response=True):
                response = getattr(self.client.service, cfg.operation)(**arguments)
            result = self._binding.process_reply(self.client.zeep, self._binding.get(cfg.operation), response)
        except Exception as exc:  # zeep, requests and lxml errors: classified, never leaked raw
            if isinstance(exc, TransportError) and isinstance(exc.__context__, XMLSyntaxError):
                exc = exc.__context__  # zeep's wrapper of a reply that is not XML: a bad reply, not HTTP
            raise classify_soap_error(exc, partner=self.partner_id, operation=cfg.operation,
                                      business_faults=cfg.business_faults) from exc
        return response, serialize_object(result, dict)  # type: ignore[no-untyped-call]

    def _records(self, result: Any) -> int:
        if self.config.records_field is None:
            return 1
        found = dig(result, self.config.records_field)
        return len(found) if isinstance(found, list) else int(found is not None)

    def _store(self, response: requests.Response, cursor: str | None, records: int) -> bool:
        """Store one answer raw; True when the inbox had these bytes already."""
        receipt = Receipt(
            partner_id=self.partner_id, channel="soap", document_type=self.config.document_type,
            content_type=response.headers.get("Content-Type"),
            meta={"endpoint": response.url, "operation": self.config.operation, "cursor": cursor,
                  "records": records},
        )
        return self.inbox.store(receipt, response.content).already_seen
