"""OData V2 wire helpers: literals, ``/Date(ms)/``, decimals, results and delta links."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from urllib.parse import unquote

from connectors.erp.models import DeltaPage, ErpRecord
from connectors.erp.sap_http import SapSession

__all__ = [
    "delta_read",
    "dt_literal",
    "odata_date",
    "odata_decimal",
    "quote",
    "results",
    "token_of",
]

T = TypeVar("T", bound=ErpRecord)
_DATE = re.compile(r"/Date\((-?\d+)([+-]\d+)?\)/")
_TOKEN = re.compile(r"!deltatoken='([^']*)'")
_KEY = re.compile(r"\('?([^')]*)'?\)$")


def quote(value: str) -> str:
    """An Edm.String literal: single quotes, embedded quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def dt_literal(moment: datetime) -> str:
    return "datetime'" + moment.strftime("%Y-%m-%dT%H:%M:%S") + "'"


def odata_date(value: Any) -> date | None:
    """``/Date(1700000000000)/`` (or an ISO string) as a date; None when initial."""
    if not value:
        return None
    found = _DATE.fullmatch(str(value))
    if found:
        return datetime.fromtimestamp(int(found.group(1)) / 1000, tz=UTC).date()
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def odata_decimal(value: Any) -> Decimal:
    if value in (None, ""):
        return Decimal(0)
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal: {value!r}") from exc


def results(payload: Any) -> list[dict[str, Any]]:
    """Rows of a V2 collection, or of an expanded navigation (``{"results": [...]}``)."""
    if isinstance(payload, dict):
        rows = payload.get("results", [])
        return [r for r in rows if isinstance(r, dict)]
    return []


def token_of(delta_link: str) -> str:
    """The token inside a ``__delta`` link."""
    found = _TOKEN.search(unquote(delta_link))
    if not found:
        raise ValueError(f"no !deltatoken in {delta_link!r}")
    return found.group(1)


def delta_read(
    session: SapSession,
    service: str,
    entity_set: str,
    parse: Callable[[dict[str, Any]], T],
    *,
    since: str | None,
    expand: str | None = None,
) -> DeltaPage[T]:
    """Read an entity set fully (``since`` None) or what changed since the token.

    The first read asks with ``Prefer: odata.track-changes``; every answer carries the
    ``__delta`` link whose token is handed back for the next read. Deleted entries come
    as ``__metadata.deleted`` and are returned as their keys.
    """
    params: dict[str, str] = {"$expand": expand} if expand else {}
    if since:
        params["!deltatoken"] = quote(since)
    payload = session.get_json(service, entity_set, params,
                               headers={"Prefer": "odata.track-changes"})
    records: list[T] = []
    deleted: list[str] = []
    for row in results(payload):
        meta = row.get("__metadata") or {}
        if meta.get("deleted"):
            key = _KEY.search(str(meta.get("uri", "")))
            deleted.append(key.group(1) if key else str(meta.get("uri", "")))
        else:
            records.append(parse(row))
    link = payload.get("__delta") if isinstance(payload, dict) else None
    if not link:
        raise ValueError(f"{service}/{entity_set} answered without a __delta link")
    return DeltaPage[T](records=records, deleted=deleted, delta_token=token_of(str(link)))
