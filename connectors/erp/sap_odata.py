"""OData V2 wire helpers: literals, ``/Date(ms)/``, decimals, results, paged and delta reads."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from urllib.parse import unquote

from connectors.erp.models import DeltaPage, ErpRecord
from connectors.erp.sap_http import SapSession
from connectors.erp.sap_paging import pages

__all__ = [
    "delta_read",
    "dt_literal",
    "odata_date",
    "odata_datetime",
    "odata_decimal",
    "quote",
    "read_all",
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


def odata_datetime(value: Any) -> datetime | None:
    """``/Date(1700000000000)/`` (or an ISO string) as an aware UTC datetime; None when initial."""
    if not value:
        return None
    found = _DATE.fullmatch(str(value))
    if found:
        return datetime.fromtimestamp(int(found.group(1)) / 1000, tz=UTC)
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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


def read_all(session: SapSession, service: str, entity_set: str,
             params: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Every row of a collection read, across the server's pages (``__next``)."""
    return [row for page in pages(session, service, entity_set, dict(params or {}))
            for row in results(page)]


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
    ``__delta`` link whose token is handed back for the next read. A paged answer is
    followed through its ``__next`` links; the ``__delta`` link comes with the last page
    (should several pages carry one, the first is kept: an earlier token can only hand a
    change back twice, a later one could skip a change made while the pages were read).
    Deleted entries come as ``__metadata.deleted`` and are returned as their keys.
    """
    params: dict[str, str] = {"$expand": expand} if expand else {}
    if since:
        params["!deltatoken"] = quote(since)
    records: list[T] = []
    deleted: dict[str, None] = {}
    link: str | None = None
    for page in pages(session, service, entity_set, params,
                      headers={"Prefer": "odata.track-changes"}):
        for row in results(page):
            meta = row.get("__metadata") or {}
            if meta.get("deleted"):
                key = _KEY.search(str(meta.get("uri", "")))
                deleted[key.group(1) if key else str(meta.get("uri", ""))] = None
            else:
                records.append(parse(row))
        link = link or (str(page["__delta"]) if page.get("__delta") else None)
    if not link:
        raise ValueError(f"{service}/{entity_set} answered without a __delta link")
    return DeltaPage[T](records=records, deleted=list(deleted), delta_token=token_of(link))
