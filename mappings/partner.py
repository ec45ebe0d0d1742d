"""Overrides merged and applied: code lists, forced qualifiers, defaults and item xrefs.

Layers merge in order, later winning: the map's version section, then the partner's
profile. Code lists merge per code, so a partner adds ``CS → CA`` without restating the
map's whole UoM table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from canonical.errors import ConfigurationError, Finding
from mappings.compiled import Codes, parse_path
from mappings.overrides import PartnerOverrides
from mappings.paths import get_path, set_path
from mappings.spec import MapSpec

__all__ = ["PartnerData"]

Doc = dict[str, Any]


@dataclass(frozen=True)
class PartnerData:
    overrides: PartnerOverrides
    code_layers: dict[str, dict[str, str]]

    @classmethod
    def build(cls, spec: MapSpec, layers: list[dict[str, Any]], *, partner: str | None) -> PartnerData:
        merged: dict[str, Any] = {}
        codes: dict[str, dict[str, str]] = {}
        for i, raw in enumerate(layers):
            is_partner = i == len(layers) - 1
            o = PartnerOverrides.parse(raw, partner=partner if is_partner else None, document=spec.document)
            for name, values in (*o.codes.items(), *((("uom", o.uom),) if o.uom else ())):
                if name not in spec.codes:
                    who = f"overrides for partner {partner!r}" if is_partner and partner else "overrides"
                    raise ConfigurationError(
                        f"{who}: the {spec.standard} {spec.set_id} map has no code list {name!r}",
                        code="config.invalid_overrides", partner=partner,
                        findings=[Finding(path=f"codes.{name}",
                                          message=f"known: {', '.join(sorted(spec.codes))}")])
                # The later layer's codes go first so they win both ways.
                codes[name] = {**values, **{k: v for k, v in codes.get(name, {}).items() if k not in values}}
            for key in ("qualifiers", "item_xref", "defaults", "rules"):
                merged[key] = {**merged.get(key, {}), **getattr(o, key)}
        final = PartnerOverrides.model_validate(merged)
        return cls(final, codes)

    def codes(self, spec: MapSpec) -> dict[str, Codes]:
        return {
            name: Codes.build(name, [self.code_layers.get(name, {}), cl])
            for name, cl in spec.codes.items()
        }

    def inbound(self, doc: Doc, spec: MapSpec, envelope: dict[str, str]) -> None:
        for path, source in spec.envelope_defaults.items():
            keys = parse_path(path)
            if get_path(doc, keys) is None and envelope.get(source):
                set_path(doc, keys, envelope[source])
        self._common(doc)
        xref = self.overrides.item_xref
        if xref:
            _each_item(doc, lambda it: _xref_in(it, xref))

    def outbound(self, doc: Doc) -> None:
        self._common(doc)
        if self.overrides.item_xref:
            back = {ours: theirs for theirs, ours in self.overrides.item_xref.items()}
            _each_item(doc, lambda it: _xref_out(it, back))

    def _common(self, doc: Doc) -> None:
        for path, value in self.overrides.defaults.items():
            keys = parse_path(path)
            if get_path(doc, keys) is None:
                set_path(doc, keys, value)
        for party, qualifier in self.overrides.qualifiers.items():
            obj = get_path(doc, parse_path(party))
            if isinstance(obj, dict):
                obj["qualifier"] = qualifier


def _xref_in(item: Doc, xref: dict[str, str]) -> None:
    # The partner names the item by its own number; we add ours beside it.
    theirs = item.get("buyer_item")
    if theirs in xref and not item.get("vendor_item"):
        item["vendor_item"] = xref[theirs]


def _xref_out(item: Doc, back: dict[str, str]) -> None:
    ours = item.get("vendor_item")
    if ours in back and not item.get("buyer_item"):
        item["buyer_item"] = back[ours]


def _each_item(obj: Any, fn: Any) -> None:
    if isinstance(obj, dict):
        if "buyer_item" in obj or "vendor_item" in obj:
            fn(obj)
        for v in obj.values():
            if isinstance(v, (dict, list)):
                _each_item(v, fn)
    elif isinstance(obj, list):
        for v in obj:
            _each_item(v, fn)
