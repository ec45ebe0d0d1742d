"""Per-partner JSON Schema rules over the canonical document, added as data.

A partner profile may carry ``schema_rules: {"purchase_order": {...JSON Schema...}}``; each
document of that type is checked against it after mapping (e.g. "this customer always sends
a ship-to", "quantities are whole cases"). A broken rule is a data error the partner must
fix: a ``ValidationFailed`` (dead letter) whose findings name document, line and field.

Usage:
    profile = {"schema_rules": {"purchase_order": {"required": ["ship_to"]}}}
    check_partner_schema(message, ctx)   # raises ValidationFailed naming ``ship_to``
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from canonical.errors import ConfigurationError, Finding, ValidationFailed
from pipelines.exceptions.model import describe
from pipelines.runner import Message, StageContext

__all__ = ["check_partner_schema"]


def _path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


@lru_cache(maxsize=256)
def _validator(schema_text: str) -> Draft202012Validator:
    schema = json.loads(schema_text)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def check_partner_schema(message: Message, ctx: StageContext) -> Message:
    rules = (message.partner or {}).get("schema_rules") or {}
    for doc in message.documents:
        schema = rules.get(doc.document_type)
        if not schema:
            continue
        try:
            validator = _validator(json.dumps(schema, sort_keys=True))
        except SchemaError as exc:
            raise ConfigurationError(f"partner {message.partner_id!r}: schema_rules.{doc.document_type} is not "
                                     f"a valid JSON Schema: {exc.message}", code="partner.invalid_schema_rules",
                                     partner=message.partner_id) from None
        errors = sorted(validator.iter_errors(doc.model_dump(mode="json")), key=lambda e: list(e.absolute_path))
        if errors:
            raise ValidationFailed(
                f"{describe(doc)} breaks {len(errors)} of {message.partner_id}'s rules",
                code="validation.partner_schema", partner=message.partner_id, document=describe(doc),
                findings=[Finding(_path(e.absolute_path), e.message, "partner_schema") for e in errors])
    return message
