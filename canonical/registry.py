"""Document types by name, and JSON Schema export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from canonical.documents import (
    CanonicalDocument,
    Invoice,
    OrderAcknowledgment,
    PurchaseOrder,
    ShipmentStatus,
    ShipNotice,
)
from canonical.errors import ConfigurationError

__all__ = ["DOCUMENT_TYPES", "export_schemas", "model_for", "schema_for"]

DOCUMENT_TYPES: dict[str, type[CanonicalDocument]] = {
    "purchase_order": PurchaseOrder,
    "order_acknowledgment": OrderAcknowledgment,
    "ship_notice": ShipNotice,
    "shipment_status": ShipmentStatus,
    "invoice": Invoice,
}


def model_for(document_type: str) -> type[CanonicalDocument]:
    try:
        return DOCUMENT_TYPES[document_type]
    except KeyError:
        known = ", ".join(sorted(DOCUMENT_TYPES))
        raise ConfigurationError(
            f"unknown document type {document_type!r} (known: {known})",
            code="config.unknown_document_type",
        ) from None


def schema_for(document_type: str) -> dict[str, Any]:
    model = model_for(document_type)
    schema = TypeAdapter(model).json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://crossdock.dev/schemas/{document_type}.json"
    return schema


def export_schemas(directory: Path) -> list[Path]:
    """Write one ``<document_type>.schema.json`` per canonical document; returns the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in sorted(DOCUMENT_TYPES):
        path = directory / f"{name}.schema.json"
        path.write_text(json.dumps(schema_for(name), indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written
