"""Per-partner overrides: data from the partner profile, merged over a builtin map.

Usage:
    >>> from mappings.overrides import PartnerOverrides
    >>> o = PartnerOverrides.parse({"uom": {"CS": "CA"}, "defaults": {"currency": "EUR"}},
    ...                            partner="ACME", document="purchase_order")
    >>> o.uom
    {'CS': 'CA'}
"""

from __future__ import annotations

import types
import typing
from typing import Any, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from canonical.errors import ConfigurationError, Finding
from canonical.registry import model_for
from mappings.spec import MapSpec, Rule, config_error

__all__ = ["PartnerOverrides", "apply_rule_replacements", "canonical_path_exists"]

_RULE = TypeAdapter(Rule)


class PartnerOverrides(BaseModel):
    """What a partner profile may change about a map, all optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    codes: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="Code list name → {partner code: canonical}, merged first"
    )
    uom: dict[str, str] = Field(default_factory=dict, description="Partner UoM → canonical, e.g. CS → CA")
    qualifiers: dict[str, str] = Field(
        default_factory=dict,
        description="Party field → canonical id qualifier the partner uses, e.g. ship_to: GLN",
    )
    item_xref: dict[str, str] = Field(
        default_factory=dict, description="Partner item number → our vendor item number"
    )
    defaults: dict[str, Any] = Field(
        default_factory=dict, description="Canonical path → value used when the document has none"
    )
    rules: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Rule name → replacement rule (same shape as in the map), or {omit: true}",
    )

    @classmethod
    def parse(cls, raw: dict[str, Any] | None, *, partner: str | None, document: str) -> PartnerOverrides:
        """Validate ``raw``; a ConfigurationError names the partner and each bad field."""
        who = f"overrides for partner {partner!r}" if partner else "overrides"
        try:
            out = cls.model_validate(raw or {})
        except ValidationError as exc:
            raise config_error(who, exc, partner=partner) from None
        model = model_for(document)
        bad = [p for p in (*out.defaults, *out.qualifiers) if not canonical_path_exists(model, p)]
        if bad:
            raise ConfigurationError(
                f"{who}: unknown canonical field(s) for {document}",
                code="config.invalid_overrides",
                partner=partner,
                findings=[Finding(path=p, message=f"{document} has no field {p!r}") for p in bad],
            )
        return out


def _model_of(annotation: Any) -> type[BaseModel] | None:
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType, list):
        for arg in typing.get_args(annotation):
            found = _model_of(arg)
            if found is not None:
                return found
        return None
    if origin is typing.Annotated:
        return _model_of(typing.get_args(annotation)[0])
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def canonical_path_exists(model: type[BaseModel], path: str) -> bool:
    """``seller.id`` → True for PurchaseOrder; list indices (``lines.0.uom``) are allowed."""
    current: type[BaseModel] | None = model
    for part in path.split("."):
        if part.isdigit():
            continue
        if current is None or part not in current.model_fields:
            return False
        current = _model_of(current.model_fields[part].annotation)
    return True


def apply_rule_replacements(
    spec: MapSpec, replacements: dict[str, dict[str, Any]], *, partner: str | None
) -> MapSpec:
    """Replace named rules anywhere in the tree; an unknown name or bad rule is an error."""
    if not replacements:
        return spec
    who = f"overrides for partner {partner!r}" if partner else "overrides"
    parsed: dict[str, Any] = {}
    for name, raw in replacements.items():
        if raw == {"omit": True}:
            parsed[name] = None  # the partner does not take this segment at all
            continue
        try:
            parsed[name] = _RULE.validate_python({"name": name, **raw})
        except ValidationError as exc:
            err = config_error(f"{who}, rule {name!r}", exc, partner=partner)
            err.findings = tuple(Finding(f"rules.{name}.{f.path}", f.message, f.code) for f in err.findings)
            raise err from None
    found: set[str] = set()

    def walk(rules: list[Any]) -> list[Any]:
        out = []
        for rule in rules:
            name = getattr(rule, "name", None)
            if name in parsed:
                found.add(name)
                if parsed[name] is not None:
                    out.append(parsed[name])
                continue
            update: dict[str, Any] = {}
            if getattr(rule, "segments", None):
                update["segments"] = walk(rule.segments)
            if getattr(rule, "levels", None):
                update["levels"] = walk(rule.levels)
            out.append(rule.model_copy(update=update) if update else rule)
        return out

    rules = walk(list(spec.rules))
    missing = sorted(set(parsed) - found)
    if missing:
        raise ConfigurationError(
            f"{who}: no rule named {', '.join(missing)} in the {spec.standard} {spec.set_id} map",
            code="config.invalid_overrides",
            partner=partner,
            findings=[Finding(path=f"rules.{m}", message="no such rule in the map") for m in missing],
        )
    return spec.model_copy(update={"rules": rules})
