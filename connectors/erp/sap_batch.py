"""OData V2 ``$batch`` for reads: several GETs in one round trip (multipart/mixed).

Usage:
    parts = batch_get(session, "API_PRODUCT_SRV", ["A_Product('TG11')", "A_Product('X')"])
    [p.status for p in parts]  # [200, 404]
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from canonical.errors import PermanentError, RetryableError
from connectors.erp.sap_http import SapSession

__all__ = ["BatchPart", "batch_get", "build_batch", "parse_batch"]

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.I)
_STATUS = re.compile(rb"HTTP/1\.[01] (\d{3})")


@dataclass(frozen=True, slots=True)
class BatchPart:
    """One answer inside a batch response: its HTTP status and JSON body (if any)."""

    status: int
    body: Any

    @property
    def data(self) -> Any:
        """The ``d`` payload of a successful part, else None."""
        return self.body.get("d") if self.status < 300 and isinstance(self.body, dict) else None

    def check(self, resource: str, *, allowed: tuple[int, ...] = (404,)) -> None:
        """Raise as a whole request would for a part that failed (other than ``allowed``)."""
        if self.status < 300 or self.status in allowed:
            return
        details = {"method": "GET", "path": resource, "status": self.status, "batch": True}
        message = f"SAP $batch part GET {resource} answered {self.status}"
        if self.status >= 500 or self.status in (423, 429):
            raise RetryableError(message, code="erp.server_error", details=details)
        raise PermanentError(message, code="erp.bad_request", details=details)


def build_batch(resources: Sequence[str], boundary: str) -> bytes:
    """A multipart/mixed body with one GET per resource (paths relative to the service)."""
    chunks = []
    for resource in resources:
        sep = "&" if "?" in resource else "?"
        chunks.append(
            f"--{boundary}\r\nContent-Type: application/http\r\n"
            f"Content-Transfer-Encoding: binary\r\n\r\n"
            f"GET {resource}{sep}$format=json HTTP/1.1\r\nAccept: application/json\r\n\r\n\r\n")
    chunks.append(f"--{boundary}--\r\n")
    return "".join(chunks).encode()


def parse_batch(content_type: str, body: bytes) -> list[BatchPart]:
    """Split a batch response into parts, in request order."""
    found = _BOUNDARY.search(content_type)
    if not found:
        raise ValueError(f"not a multipart batch response: {content_type!r}")
    delimiter = b"--" + found.group(1).encode()
    parts: list[BatchPart] = []
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        status = _STATUS.search(chunk)
        if status is None:
            continue
        inner = chunk[status.end():]
        payload = inner.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in inner else b""
        payload = payload.strip()
        try:
            parsed: Any = json.loads(payload) if payload else None
        except ValueError:
            parsed = payload.decode("utf-8", "replace")
        parts.append(BatchPart(int(status.group(1)), parsed))
    return parts


def batch_get(session: SapSession, service: str, resources: Sequence[str]) -> list[BatchPart]:
    """Read several resources of one service in one ``$batch`` round trip."""
    if not resources:
        return []
    boundary = f"batch_{uuid.uuid4().hex}"
    response = session.request(
        "POST", session.service_path(service, "$batch"), service=service,
        content=build_batch(resources, boundary),
        headers={"Content-Type": f"multipart/mixed; boundary={boundary}"})
    parts = parse_batch(response.headers.get("content-type", ""), response.content)
    if len(parts) != len(resources):
        raise RetryableError(f"$batch answered {len(parts)} parts for {len(resources)} requests",
                             code="erp.bad_batch", details={"service": service})
    for part, resource in zip(parts, resources, strict=True):
        part.check(resource)
    return parts
