"""Record maps: JSON and CSV payloads (a web shop's orders, a field-sales spreadsheet) into
canonical documents, in the same declarative style as the EDI maps, with source paths in
place of segment selectors.

A JSON payload is one document (or a list of them); a CSV payload is grouped into one
document per value of ``group_by`` (the PO number), each row becoming a line.

Usage:
    >>> from mappings.records import load_record_map
    >>> shop = load_record_map("webshop_order")
    >>> shop.document
    'purchase_order'
"""

from __future__ import annotations

import csv
import io
import json
from functools import lru_cache
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from canonical.documents import CanonicalDocument
from canonical.errors import ConfigurationError, Finding, ParseError, ValidationFailed
from canonical.registry import model_for
from mappings.compiled import parse_path
from mappings.overrides import canonical_path_exists
from mappings.paths import path_text, set_path
from mappings.spec import BUILTIN_DIR, CodeList, config_error
from mappings.transforms import get_transform

__all__ = ["FieldRule", "ListRule", "RecordMap", "RecordMapSpec", "load_record_map"]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldRule(_Spec):
    """Where one canonical field comes from. A bare string is shorthand for ``source``."""

    source: str | None = Field(None, description="Dotted path in the record (JSON) or a column (CSV)")
    const: str | None = None
    default: str | None = None
    transform: str | None = None
    codes: str | None = None
    sequence: bool = Field(False, description="The 1-based position of the item in its list")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"source": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _one_source(self) -> FieldRule:
        if sum(x is not None for x in (self.source, self.const)) + int(self.sequence) != 1:
            raise ValueError("give exactly one of source, const or sequence")
        if self.transform is not None:
            try:
                get_transform(self.transform)
            except KeyError as exc:
                raise ValueError(str(exc.args[0])) from None
        return self


class ListRule(_Spec):
    source: str = Field(description="JSON: path of the array; CSV: `rows` (each row of the group)")
    fields: dict[str, FieldRule]


class RecordMapSpec(_Spec):
    name: str
    format: Literal["json", "csv"]
    document: str
    group_by: str | None = Field(None, description="CSV: the column that starts a new document")
    codes: dict[str, CodeList] = Field(default_factory=dict)
    fields: dict[str, FieldRule]
    lists: dict[str, ListRule] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _names(self) -> RecordMapSpec:
        model = model_for(self.document)
        rules = [("fields", p, r) for p, r in self.fields.items()]
        for lp, lr in self.lists.items():
            rules += [(f"lists.{lp}.fields", f"{lp}.0.{p}", r) for p, r in lr.fields.items()]
        for where, path, rule in rules:
            if not canonical_path_exists(model, path):
                raise ValueError(f"{where}: {self.document} has no field {path!r}")
            if rule.codes is not None and rule.codes not in self.codes:
                raise ValueError(f"{where}.{path}: no code list {rule.codes!r}")
        if self.format == "csv" and not self.group_by:
            raise ValueError("a CSV map needs group_by (the column naming the document)")
        return self


def _get(record: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if isinstance(record, dict):
            record = record.get(part)
        elif isinstance(record, list) and part.isdigit() and int(part) < len(record):
            record = record[int(part)]
        else:
            return None
    return record


class RecordMap:
    """A compiled record map; ``to_canonical`` returns one document per order found."""

    def __init__(self, spec: RecordMapSpec) -> None:
        self.spec = spec
        self.document = spec.document
        self._model = model_for(spec.document)
        self._codes = {n: cl.values for n, cl in spec.codes.items()}

    def to_canonical(self, payload: bytes | str | Any, *, partner: str | None = None) -> list[CanonicalDocument]:
        """Usage: ``orders = load_record_map("field_sales_csv").to_canonical(csv_bytes)``"""
        if isinstance(payload, bytes):
            payload = payload.decode("utf-8-sig")
        if self.spec.format == "csv":
            groups = self._csv_groups(payload if isinstance(payload, str) else "")
        else:
            data = json.loads(payload) if isinstance(payload, str) else payload
            groups = [(d, [d]) for d in (data if isinstance(data, list) else [data])]
        return [self._one(head, rows, partner) for head, rows in groups]

    def _csv_groups(self, text: str) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
        key = self.spec.group_by or ""
        reader = csv.DictReader(io.StringIO(text))
        if reader.fieldnames is None or key not in reader.fieldnames:
            raise ParseError(f"CSV has no column {key!r} (columns: {reader.fieldnames})", code="parse.csv")
        grouped: dict[str, list[dict[str, Any]]] = {}
        for row in reader:
            grouped.setdefault(row[key], []).append(row)
        return [(rows[0], rows) for rows in grouped.values()]

    def _one(self, head: dict[str, Any], rows: list[dict[str, Any]], partner: str | None) -> CanonicalDocument:
        doc: dict[str, Any] = {}
        sources: dict[str, str] = {}
        findings: list[Finding] = []
        self._fill(doc, "", head, self.spec.fields, 0, sources, findings, "")
        for list_path, rule in self.spec.lists.items():
            items = rows if rule.source == "rows" else (_get(head, rule.source) or [])
            for i, item in enumerate(items):
                where = f"{list_path}.{i}"
                src = f"row {i + 1}" if rule.source == "rows" else f"{rule.source}[{i}]"
                self._fill(doc, where, item, rule.fields, i, sources, findings, src)
        try:
            if findings:
                raise ValidationFailed("mapping failed")
            return self._model.model_validate(doc)
        except (ValidationError, ValidationFailed) as exc:
            errors = exc.errors() if isinstance(exc, ValidationError) else []
            if not errors:
                try:
                    self._model.model_validate(doc)
                except ValidationError as again:
                    errors = again.errors()
            seen = {f.path for f in findings}
            for e in errors:
                path = path_text("", tuple(p for p in e["loc"] if isinstance(p, int) or "[" not in str(p)))
                if path in seen:
                    continue  # already refused with its reason; "missing" would only repeat it
                origin = next((sources[k] for k in _prefixes(path) if k in sources), None)
                findings.append(Finding(path=path, message=f"{e['msg']}" + (f" (from {origin})" if origin else ""),
                                        code=str(e["type"])))
            raise ValidationFailed(f"{self.spec.name} record does not map to a valid {self.document}",
                                   partner=partner, findings=findings) from None

    def _fill(self, doc: dict[str, Any], prefix: str, record: Any, rules: dict[str, FieldRule], index: int,
              sources: dict[str, str], findings: list[Finding], src: str) -> None:
        for path, rule in rules.items():
            full = f"{prefix}.{path}" if prefix else path
            value: Any
            if rule.sequence:
                value = str(index + 1)
            elif rule.const is not None:
                value = rule.const
            else:
                value = _get(record, rule.source or "")
                sources[path_text("", parse_path(full))] = f"{src}.{rule.source}" if src else str(rule.source)
            if value is None or value == "":
                if rule.default is None:
                    continue
                value = rule.default
            text = value if isinstance(value, str) else json.dumps(value)
            if rule.codes is not None:
                text = self._codes[rule.codes].get(text, text)
            if rule.transform is not None:
                try:
                    value = get_transform(rule.transform).read(text, None)
                except ValueError as exc:
                    findings.append(Finding(path=path_text("", parse_path(full)), message=str(exc),
                                            code="invalid_value", value=text))
                    continue
            else:
                value = text
            set_path(doc, parse_path(full), value)


def _prefixes(path: str) -> list[str]:
    out = [path]
    while "." in path or "[" in path:
        path = path[: max(path.rfind("."), path.rfind("["))]
        out.append(path)
    return out


@lru_cache(maxsize=32)
def load_record_map(name: str) -> RecordMap:
    """A builtin record map by name (``mappings/builtin/record_<name>.yaml``)."""
    path = BUILTIN_DIR / f"record_{name}.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"{path}: cannot read record map: {exc}", code="config.invalid_map") from exc
    try:
        return RecordMap(RecordMapSpec.model_validate(raw))
    except ValidationError as exc:
        raise config_error(str(path), exc) from None
