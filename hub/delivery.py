"""Destinations: where accepted documents go next, relayed from the outbox (``deliver`` jobs).

Failures raise the shared error types, so the same classification and retry policy apply.
"""

from __future__ import annotations

import email.utils
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from canonical.errors import ConfigurationError, PermanentError, RetryableError
from hub.erp.destination import deliver_to_erp
from hub.http import shared_client

__all__ = ["Delivered", "deliver", "parse_retry_after", "write_atomic"]


class Delivered(NamedTuple):
    """Where a document went and, for an ERP, the number of the document the ERP holds for it."""

    where: str
    erp_document_number: str | None = None


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary name in the same folder, fsync, then rename: never a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Retry-After in seconds or as an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def deliver(destination: dict[str, Any], document: dict[str, Any], *, key: str, document_id: int,
            timeout: float) -> Delivered:
    """Send one document; returns where it went (and the ERP's number for an ERP destination)."""
    kind = destination.get("type")
    if kind == "sap_s4":
        number = deliver_to_erp(destination, document)
        return Delivered(f"SAP S/4HANA sales order {number}" if number else "SAP S/4HANA: nothing to do", number)
    body = json.dumps(document, sort_keys=True).encode()
    if kind == "directory":
        folder = Path(str(destination["path"]))
        name = f"{document.get('document_type', 'document')}-{document_id}-{key[:16]}.json"
        write_atomic(folder / name, body)
        return Delivered(str(folder / name))
    if kind == "http":
        url = str(destination["url"])
        headers = {"Content-Type": "application/json", "Idempotency-Key": key,
                   "X-Crossdock-Document-Id": str(document_id), **destination.get("headers", {})}
        response = shared_client().post(url, content=body, headers=headers, timeout=timeout)
        status = response.status_code
        if status < 300:
            return Delivered(f"{url} answered {status}")
        detail = response.text[:300]
        if status == 429 or status >= 500:
            raise RetryableError(f"{url} answered {status}: {detail}", code=f"http.{status}",
                                 retry_after=parse_retry_after(response.headers.get("Retry-After")),
                                 details={"url": url, "status": status})
        raise PermanentError(f"{url} refused the document with {status}: {detail}", code=f"http.{status}",
                             details={"url": url, "status": status})
    raise ConfigurationError(f"unknown destination type {kind!r}", code="config.destination")
