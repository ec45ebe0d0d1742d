"""What a failed SOAP call means for the pipeline.

    SOAP fault, soap:Client / env:Sender        → PermanentError      soap.client_fault
        … whose detail names a business fault   → BusinessException   soap.business_fault
    SOAP fault, soap:Server / env:Receiver      → RetryableError      soap.server_fault
    HTTP 408/429/5xx, lost connection, timeout  → RetryableError      soap.unavailable
    HTTP 401/403                                → PermanentError      soap.unauthorized
    other HTTP 4xx                              → PermanentError      soap.http_error
    DTD, entity or external reference in reply  → XmlRejected         xml.forbidden
    reply that is not well-formed XML           → ParseError          soap.bad_reply
    BAPI RETURN row of type E or A (HTTP 200)   → BusinessException   sap.bapi_error
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import requests
from zeep import exceptions as zx

from canonical.errors import (
    BusinessException,
    CrossdockError,
    ParseError,
    PermanentError,
    RetryableError,
)
from connectors.xml import XmlRejected

__all__ = ["bapi_messages", "check_bapi_return", "classify_soap_error"]

RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}


def _local(qname: Any) -> str:
    text = str(getattr(qname, "localname", qname) or "")
    return text.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _fault_detail(fault: zx.Fault) -> dict[str, str]:
    """Leaf texts of the fault's detail (``Name``, ``Text``, …), first occurrence wins."""
    out: dict[str, str] = {}
    detail = fault.detail
    if detail is not None:
        for elem in detail.iter():
            if len(elem) == 0 and isinstance(elem.tag, str) and (elem.text or "").strip():
                out.setdefault(_local(elem.tag), elem.text.strip())
    return out


def classify_soap_error(
    exc: BaseException, *, partner: str | None = None, operation: str | None = None,
    business_faults: Collection[str] = (),
) -> CrossdockError:
    """The canonical error for anything a zeep call raised (foreign errors included).

    Usage:
        except Exception as exc:
            raise classify_soap_error(exc, partner="SAP", operation="MaterialGetDetail") from exc
    """
    if isinstance(exc, CrossdockError):
        return exc
    ev: dict[str, Any] = {"partner": partner}
    base = {"operation": operation} if operation else {}
    if isinstance(exc, zx.Fault):
        code = _local(exc.code)
        detail = _fault_detail(exc)
        details = {**base, "fault_code": code, "fault_string": exc.message, "detail": detail}
        if code in ("Server", "Receiver"):
            return RetryableError(f"SOAP server fault: {exc.message}", code="soap.server_fault", details=details, **ev)
        if code in ("Client", "Sender") and (set(detail.values()) & set(business_faults)):
            return BusinessException(f"rejected by the partner: {exc.message}", code="soap.business_fault",
                                     details=details, **ev)
        return PermanentError(f"SOAP fault {code}: {exc.message}", code="soap.client_fault", details=details, **ev)
    if isinstance(exc, zx.DTDForbidden | zx.EntitiesForbidden | zx.ExternalReferenceForbidden):
        return XmlRejected(f"SOAP reply refused: {exc}", details={**base, "reason": type(exc).__name__}, **ev)
    if isinstance(exc, zx.TransportError) and isinstance(exc.__context__, zx.XMLSyntaxError) \
            and 200 <= int(exc.status_code or 0) < 300:
        # zeep reports a 2xx reply that is not XML as a transport error: it is a bad reply
        return ParseError(f"SOAP reply could not be read: {exc.__context__}", code="soap.bad_reply",
                          details={**base, "status": int(exc.status_code or 0)}, **ev)
    if isinstance(exc, zx.TransportError):
        status = int(exc.status_code or 0)
        details = {**base, "status": status, "body": (exc.content or b"")[:500].decode("utf-8", "replace")}
        if status in RETRYABLE_STATUS:
            return RetryableError(f"SOAP endpoint answered {status}", code="soap.unavailable", details=details, **ev)
        if status in (401, 403):
            return PermanentError(f"SOAP endpoint refused our credentials ({status})", code="soap.unauthorized",
                                  details=details, **ev)
        return PermanentError(f"SOAP endpoint answered {status}", code="soap.http_error", details=details, **ev)
    if isinstance(exc, requests.Timeout | requests.ConnectionError):
        reason = "timeout" if isinstance(exc, requests.Timeout) else "connection"
        return RetryableError(f"SOAP endpoint unreachable: {exc}", code="soap.unavailable",
                              details={**base, "reason": reason}, **ev)
    if isinstance(exc, zx.XMLSyntaxError | zx.XMLParseError | zx.UnexpectedElementError):
        return ParseError(f"SOAP reply could not be read: {exc}", code="soap.bad_reply", details=base, **ev)
    return PermanentError(f"SOAP call failed: {exc!r}", code="soap.error", details=base, **ev)


def bapi_messages(result: Any) -> list[dict[str, Any]]:
    """The RETURN of a BAPI result as rows: a single structure, or a table of ``item`` rows."""
    found = result.get("RETURN") if isinstance(result, dict) else None
    rows = found if isinstance(found, list) else [found]
    out: list[dict[str, Any]] = []
    for row in rows:
        if not isinstance(row, dict):
            continue
        items = row.get("item")
        if items:
            out += [dict(i) for i in items if isinstance(i, dict)]
        elif row.get("TYPE") is not None or row.get("MESSAGE") is not None:
            out.append({k: v for k, v in row.items() if k != "item"})
    return out


def check_bapi_return(result: Any, *, partner: str | None = None, document: str | None = None) -> None:
    """Raise BusinessException when the BAPI's RETURN holds a type E or A message.

    A BAPI reports a refusal with HTTP 200 and ``TYPE`` E/A in ``RETURN``; W and S are not
    failures.

    Usage:
        check_bapi_return(client.service.MaterialGetDetail(Material="TG11"), partner="SAP")
    """
    errors = [m for m in bapi_messages(result) if str(m.get("TYPE") or "") in ("E", "A")]
    if errors:
        first = errors[0]
        raise BusinessException(
            f"SAP refused: {first.get('MESSAGE')} ({first.get('ID')} {first.get('NUMBER')})",
            code="sap.bapi_error", partner=partner, document=document,
            details={"messages": [{k: m.get(k) for k in ("TYPE", "ID", "NUMBER", "MESSAGE")} for m in errors]},
        )
