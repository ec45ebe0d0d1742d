"""A partner's order status SOAP service on 127.0.0.1 (WSGI), answering ``order_status_changes.wsdl``.

The service holds answers by cursor: ``GetOrderStatusChanges(Since=s)`` returns the first
queued answer whose cursor is above ``s`` (or one without changes that repeats ``s``). It
checks the WS-Security UsernameToken and can be told to answer anything else once (a fault,
hostile XML). Answers are kept in files and streamed, so the service's own memory stays out
of the memory measured in tests.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from connectors.xml import parse_xml

__all__ = [
    "NS", "PASSWORD", "USER", "OrderStatusService", "answer", "change", "fault11", "fault12",
    "order_status_service",
]

NS = "urn:crossdock:soap:order-status:1"
S11 = "http://schemas.xmlsoap.org/soap/envelope/"
S12 = "http://www.w3.org/2003/05/soap-envelope"
USER, PASSWORD = "CROSSDOCK", "soap-pw-conformance-4c2e"


def change(order: str, status: str = "shipped", changed_at: str = "2026-11-23T10:00:00Z", note: str = "") -> str:
    note_xml = f"<o:Note>{note}</o:Note>" if note else ""
    return (f"<o:Change><o:OrderNumber>{order}</o:OrderNumber><o:Status>{status}</o:Status>"
            f"<o:ChangedAt>{changed_at}</o:ChangedAt>{note_xml}</o:Change>")


def answer(cursor: str, changes: Iterable[str] = ()) -> bytes:
    """A ``GetOrderStatusChangesResponse`` envelope."""
    return (f'<?xml version="1.0" encoding="utf-8"?><soap-env:Envelope xmlns:soap-env="{S11}"><soap-env:Body>'
            f'<o:GetOrderStatusChangesResponse xmlns:o="{NS}"><o:Changes>{"".join(changes)}</o:Changes>'
            f"<o:NextCursor>{cursor}</o:NextCursor></o:GetOrderStatusChangesResponse>"
            "</soap-env:Body></soap-env:Envelope>").encode()


def _text(root: Any, local: str) -> str | None:
    for elem in root.iter():
        if isinstance(elem.tag, str) and elem.tag.rsplit("}", 1)[-1] == local:
            return str(elem.text or "")
    return None


class OrderStatusService:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.answers: dict[str, Path] = {}  # cursor -> file holding the answer
        self.once: list[tuple[str, bytes, str]] = []  # (status line, body, content type): next answers
        self.calls: list[str | None] = []  # the Since of every call
        self.lock = threading.Lock()
        self.server: WSGIServer = make_server("127.0.0.1", 0, self.app, handler_class=_Quiet)
        self.url = f"http://127.0.0.1:{self.server.server_port}/soap/order-status"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def queue(self, cursor: str, body: bytes | Path) -> None:
        target = self.root / f"answer-{cursor}.xml"
        if isinstance(body, Path):
            shutil.copyfile(body, target)
        else:
            target.write_bytes(body)
        with self.lock:
            self.answers[cursor] = target

    def answer_next(self, status: str, body: bytes, content_type: str = "text/xml; charset=utf-8") -> None:
        """Answer the next call with this instead (a fault, hostile XML, a gateway error page)."""
        with self.lock:
            self.once.append((status, body, content_type))

    def app(self, environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        request = parse_xml(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        since = _text(request, "Since")
        with self.lock:
            self.calls.append(since)
            once = self.once.pop(0) if self.once else None
            later = sorted(c for c in self.answers if c > (since or ""))
        headers = [("Content-Type", "text/xml; charset=utf-8")]
        if once is not None:
            start_response(once[0], [("Content-Type", once[2])])
            return iter([once[1]])
        if (_text(request, "Username"), _text(request, "Password")) != (USER, PASSWORD):
            start_response("500 Internal Server Error", headers)
            return iter([fault11("Client", "authentication failed")])
        if not later:
            start_response("200 OK", headers)
            return iter([answer(since or "")])
        path = self.answers[later[0]]
        start_response("200 OK", [*headers, ("Content-Length", str(path.stat().st_size))])
        return _chunks(path)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def fault11(code: str, text: str, name: str | None = None) -> bytes:
    """A SOAP 1.1 fault (``Client`` / ``Server``); ``name`` goes into its detail."""
    detail = f'<detail><o:OrderStatusFault xmlns:o="{NS}"><o:Name>{name}</o:Name></o:OrderStatusFault></detail>' \
        if name else ""
    return (f'<?xml version="1.0"?><soap-env:Envelope xmlns:soap-env="{S11}"><soap-env:Body><soap-env:Fault>'
            f"<faultcode>soap-env:{code}</faultcode><faultstring>{text}</faultstring>{detail}"
            "</soap-env:Fault></soap-env:Body></soap-env:Envelope>").encode()


def fault12(code: str, text: str) -> bytes:
    """A SOAP 1.2 fault (``Sender`` / ``Receiver``)."""
    return (f'<?xml version="1.0"?><env:Envelope xmlns:env="{S12}"><env:Body><env:Fault>'
            f"<env:Code><env:Value>env:{code}</env:Value></env:Code>"
            f'<env:Reason><env:Text xml:lang="en">{text}</env:Text></env:Reason>'
            "</env:Fault></env:Body></env:Envelope>").encode()


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 16):
            yield chunk


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def order_status_service(root: Path) -> Iterator[OrderStatusService]:
    """Fixture body: ``yield from order_status_service(tmp_path)``."""
    root.mkdir(parents=True, exist_ok=True)
    service = OrderStatusService(root)
    yield service
    service.close()
