"""Stages that wire codecs and maps into the runner (hub is the layer that may import both).

The embedded and distributed runtimes run the very same list: ``INGEST_STAGES``.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from canonical.documents import CanonicalDocument, PurchaseOrder
from canonical.errors import ConfigurationError, Finding, ParseError, ValidationFailed
from canonical.registry import model_for
from connectors.formats import sniff
from hub.edi.decode import EdiBatch, decode_edi
from hub.ops.schema_rules import check_partner_schema
from hub.ops.stages import check_refdata, check_resend, check_revisions, detect, map_records
from pipelines.runner import Message, Stage, StageContext
from pipelines.stages import dedupe, resolve_partner

__all__ = ["INGEST_STAGES", "decode", "findings_from_pydantic", "map_to_canonical", "validate"]


def decode(message: Message, ctx: StageContext) -> Message:
    """Bytes → a JSON value (EDI codecs plug in here by content sniffing)."""
    if message.documents:  # a record map read it already
        return message
    if sniff(message.raw) is not None:  # X12 / EDIFACT: see hub.edi.decode
        return decode_edi(message, ctx)
    raw = message.raw
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(
            f"payload is not UTF-8 (byte {exc.start}: {raw[exc.start:exc.start + 1]!r})",
            code="parse.encoding", partner=message.partner_id,
        ) from None
    try:
        message.data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(
            "malformed JSON",
            code="parse.json", partner=message.partner_id,
            findings=[Finding(path=f"line {exc.lineno}, column {exc.colno}", message=exc.msg, code="parse.json")],
        ) from None
    return message


def findings_from_pydantic(exc: ValidationError, prefix: str = "") -> list[Finding]:
    out = []
    for err in exc.errors():
        path = prefix
        for part in err["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        value = err.get("input")
        shown = None if isinstance(value, dict | list) or value is None else str(value)[:80]
        out.append(Finding(path=path or "(document)", message=err["msg"], code=f"validation.{err['type']}",
                           value=shown))
    return out


def _with_defaults(data: dict[str, Any], message: Message) -> dict[str, Any]:
    profile = message.partner or {}
    merged = {**profile.get("defaults", {}), **data}
    if merged.get("document_type") in (None, message.document_type):
        merged["document_type"] = message.document_type
    if merged["document_type"] == "purchase_order" and not merged.get("buyer"):
        # A customer's own order names the customer as buyer unless it says otherwise.
        merged["buyer"] = {"id": message.partner_id}
    return merged


def map_to_canonical(message: Message, ctx: StageContext) -> Message:
    """JSON value → canonical documents (one object, or a list of them)."""
    if message.documents:  # a record map read it already
        return message
    if isinstance(message.data, EdiBatch):  # EDI sets were mapped by their own maps
        return message
    doc_type = message.document_type
    if doc_type is None:
        raise ConfigurationError("the document type is not known: name it in the URL or the folder",
                                 code="config.unknown_document_type", partner=message.partner_id)
    model = model_for(doc_type)
    items = message.data if isinstance(message.data, list) else [message.data]
    documents: list[CanonicalDocument] = []
    for i, item in enumerate(items):
        prefix = f"[{i}]" if isinstance(message.data, list) else ""
        if not isinstance(item, dict):
            raise ValidationFailed(f"{doc_type} must be a JSON object", code="validation.not_an_object",
                                   partner=message.partner_id,
                                   findings=[Finding(prefix or "(document)", "expected an object")])
        data = _with_defaults(item, message)
        if data["document_type"] != doc_type:
            raise ValidationFailed(
                f"document_type {data['document_type']!r} does not match the {doc_type!r} endpoint",
                code="validation.document_type", partner=message.partner_id,
                findings=[Finding(f"{prefix}document_type", "does not match the endpoint", value=str(data['document_type']))])
        try:
            documents.append(model.model_validate(data))
        except ValidationError as exc:
            findings = findings_from_pydantic(exc, prefix)
            raise ValidationFailed(
                f"{doc_type} from {message.partner_id} is invalid", code="validation.failed",
                partner=message.partner_id, document=str(data.get("po_number") or data.get("invoice_number") or ""),
                findings=findings,
            ) from None
    message.documents = documents
    return message


def validate(message: Message, ctx: StageContext) -> Message:
    """Rules that need the clock or several fields (the model checked each field already)."""
    for doc in message.documents:
        if isinstance(doc, PurchaseOrder):
            findings = []
            if doc.requested_delivery_date and doc.requested_delivery_date < doc.order_date:
                findings.append(Finding("requested_delivery_date", "is before order_date",
                                        value=str(doc.requested_delivery_date)))
            if doc.order_date > (ctx.now() + timedelta(days=366)).date():
                findings.append(Finding("order_date", "is more than a year in the future", value=str(doc.order_date)))
            if findings:
                raise ValidationFailed(f"purchase order {doc.po_number} is invalid", code="validation.failed",
                                       partner=message.partner_id, document=doc.po_number, findings=findings)
    return message


INGEST_STAGES: list[tuple[str, Stage]] = [
    ("resolve_partner", resolve_partner),
    ("map_records", map_records),
    ("decode", decode),
    ("map", map_to_canonical),
    ("validate", validate),
    ("partner_rules", check_partner_schema),
    ("check_refdata", check_refdata),
    ("check_revisions", check_revisions),
    ("check_resend", check_resend),
    ("dedupe", dedupe),
    ("detect", detect),
]
