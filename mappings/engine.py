"""Load a map once, then map transactions to canonical documents and back.

Outbound maps return the transaction *body*: no ST/SE or UNH/UNT. The codec owns control
numbers and counts; :meth:`Map.build_transaction` wraps a body into a
:class:`Transaction` with its header and trailer for the codec's writer.

Usage:
    >>> from mappings.engine import load_map
    >>> inbound = load_map("x12", "850", "inbound", version="004010")
    >>> inbound.document_type
    'purchase_order'
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from canonical.documents import CanonicalDocument
from canonical.errors import ConfigurationError, Finding, ValidationFailed
from canonical.prechecked import prechecked_validator
from canonical.registry import model_for
from connectors.formats.model import Group, Interchange, Transaction
from connectors.formats.segments import Segment
from mappings.compiled import Level, compile_rules, finish
from mappings.functions import DocumentFunction, document_function
from mappings.inbound import Origin, Reader
from mappings.outbound import Writer
from mappings.overrides import apply_rule_replacements
from mappings.partner import PartnerData
from mappings.paths import path_text
from mappings.spec import MapSpec, builtin_path, load_spec, names_problems

__all__ = ["Direction", "Map", "load_map", "map_transaction", "render"]

Direction = Literal["inbound", "outbound"]
_ENVELOPE = {"x12": ("ST", "SE"), "edifact": ("UNH", "UNT")}


def _norm_version(version: str) -> str:
    return version.upper().replace(":", "").replace("UN", "")


class Map:
    """A compiled map for one transaction set, one direction and one partner's overrides."""

    def __init__(self, spec: MapSpec, direction: Direction, version: str, data: PartnerData,
                 partner: str | None) -> None:
        self.spec = spec
        self.direction = direction
        self.version = version
        self.partner = partner
        self.document_type = spec.document
        self._model = model_for(spec.document)
        # model_validate, through a validator without the per-line Python checks where a
        # look at the mapped document shows they pass (canonical.prechecked).
        self._validate = prechecked_validator(self._model)
        self._data = data
        codes = data.codes(spec)
        try:
            self._root: Level = finish(compile_rules(list(spec.rules), codes))
            self._functions: list[DocumentFunction] = [
                document_function(n)
                for n in (spec.inbound_functions if direction == "inbound" else spec.outbound_functions)
            ]
        except KeyError as exc:
            raise ConfigurationError(f"{spec.standard} {spec.set_id} map: {exc.args[0]}",
                                     code="config.invalid_map", partner=partner) from None
        self._known = self._root.tags

    def to_canonical(self, transaction: Transaction, *, partner: str | None = None,
                     envelope: dict[str, str] | None = None) -> CanonicalDocument:
        """Read one transaction into its canonical document.

        ``envelope`` (``sender_id``, ``receiver_id``) fills parties the body does not name.
        Raises ValidationFailed whose findings name segment, element and canonical field.

        Usage:
            doc = load_map("x12", "850", "inbound").to_canonical(transaction, partner="ACME")
        """
        self._expect("inbound")
        body = self._body(transaction.segments)
        reader = Reader(self._root, self._known)
        doc = reader.read(body)
        self._data.inbound(doc, self.spec, envelope or {})
        for fn in self._functions:
            fn(doc)
        try:
            if reader.findings:
                raise ValidationFailed("mapping failed")
            return self._validate(doc)
        except (ValidationError, ValidationFailed) as exc:
            raise self._failure(transaction, body, envelope or {}, partner, exc) from None

    def from_canonical(self, doc: CanonicalDocument, *, partner: str | None = None) -> list[Segment]:
        """Write a canonical document as the transaction body (no ST/SE, UNH/UNT).

        Usage:
            body = load_map("x12", "855", "outbound").from_canonical(ack)
        """
        self._expect("outbound")
        if doc.document_type != self.document_type:
            raise ConfigurationError(
                f"the {self.spec.set_id} map writes {self.document_type}, not {doc.document_type}",
                code="config.wrong_document", partner=partner or self.partner)
        data = doc.model_dump(mode="python", exclude={"idempotency_key"})
        self._data.outbound(data)
        for fn in self._functions:
            fn(data)
        return Writer(self._root, data).write()

    def build_transaction(self, doc: CanonicalDocument, *, control_number: str = "0001",
                          partner: str | None = None) -> Transaction:
        """The body wrapped in ST/SE or UNH/UNT with a correct segment count."""
        body = self.from_canonical(doc, partner=partner)
        head, tail = _ENVELOPE[self.spec.standard]
        if self.spec.standard == "x12":
            header = Segment.simple(head, self.spec.set_id, control_number)
        else:
            v = _norm_version(self.version)
            header = Segment.simple(head, control_number, [self.spec.set_id, v[0], v[1:], "UN"])
        trailer = Segment.simple(tail, str(len(body) + 2), control_number)
        segments = [header, *body, trailer]
        for i, s in enumerate(segments, start=1):
            s.position = i
        return Transaction(set_id=self.spec.set_id, control_number=control_number,
                           segments=segments, version=self.version)

    # ------------------------------------------------------------------ internals

    def _expect(self, direction: Direction) -> None:
        if self.direction != direction:
            raise ConfigurationError(
                f"this {self.spec.set_id} map was loaded {self.direction}; load it {direction}",
                code="config.wrong_direction", partner=self.partner)

    def _body(self, segments: list[Segment]) -> list[Segment]:
        head, tail = _ENVELOPE[self.spec.standard]
        start = 1 if segments and segments[0].tag == head else 0
        end = len(segments) - 1 if segments and segments[-1].tag == tail else len(segments)
        return segments[start:end]

    def _failure(self, transaction: Transaction, body: list[Segment], envelope: dict[str, str],
                 partner: str | None, exc: Exception) -> ValidationFailed:
        # Walk again, slowly, recording where every field came from.
        reader = Reader(self._root, self._known, trace=True)
        doc = reader.read(body)
        self._data.inbound(doc, self.spec, envelope)
        for fn in self._functions:
            fn(doc)
        findings = list(reader.findings)
        errors = exc.errors() if isinstance(exc, ValidationError) else []
        if not errors:
            try:
                self._model.model_validate(doc)
            except ValidationError as again:
                errors = again.errors()
        # A value the reader already refused shows up again as "missing": say it once.
        seen = {f.path for f in findings}
        findings += [f for f in (_finding(e, reader.origins) for e in errors) if f.path not in seen]
        what = f"{self.spec.set_id} {transaction.control_number}"
        return ValidationFailed(f"{what} does not map to a valid {self.document_type}",
                                partner=partner or self.partner, document=what, findings=findings)


def _finding(error: Any, origins: dict[str, Origin]) -> Finding:
    loc = tuple(p for p in error["loc"] if isinstance(p, int) or "[" not in str(p))
    path = path_text("", loc)
    origin = None
    for cut in range(len(loc), 0, -1):
        origin = origins.get(path_text("", loc[:cut]))
        if origin is not None:
            break
    seg = origin.segment if origin else None
    value = error.get("input")
    return Finding(
        path=path, message=error["msg"], code=str(error["type"]),
        segment_id=seg.tag if seg else None, segment_position=seg.position if seg else None,
        element_position=origin.element if origin else None,
        component_position=origin.component if origin and (origin.component or 1) > 1 else None,
        value=value if isinstance(value, str) else None,
    )


@lru_cache(maxsize=256)
def _load(path: Path, standard: str, set_id: str, direction: Direction, version: str | None,
          overrides_json: str, partner: str | None) -> Map:
    spec = load_spec(path)
    wanted = _norm_version(version) if version else _norm_version(spec.versions[0])
    match = next((v for v in spec.versions if wanted.startswith(_norm_version(v)[:5])
                  or _norm_version(v).startswith(wanted)), None)
    if match is None:
        raise ConfigurationError(
            f"the {standard} {set_id} map covers {', '.join(spec.versions)}, not {version}",
            code="config.unknown_version", partner=partner)
    raw = json.loads(overrides_json)
    layers = [spec.version_overrides.get(match) or {}, raw]
    data = PartnerData.build(spec, layers, partner=partner)
    spec = apply_rule_replacements(spec, data.overrides.rules, partner=partner)
    problems = names_problems(spec) if data.overrides.rules else []
    if problems:
        raise ConfigurationError(
            f"overrides for partner {partner!r}: a replacement rule names what does not exist",
            code="config.invalid_overrides", partner=partner,
            findings=[Finding(path=p, message=m, code="config.invalid") for p, m in problems])
    return Map(spec, direction, match, data, partner)


def load_map(standard: str, set_id: str, direction: Direction, *, version: str | None = None,
             overrides: dict[str, Any] | None = None, partner: str | None = None) -> Map:
    """The builtin map for ``standard``/``set_id``, compiled once and cached.

    Usage:
        m = load_map("edifact", "ORDERS", "inbound", version="D96A",
                     overrides={"uom": {"PCE": "EA"}}, partner="ACME")
    """
    # Every received transaction asks for its map: answer repeat calls from a dict,
    # without the file-system check and the canonical JSON of the overrides.
    key = "{}" if not overrides else json.dumps(overrides, sort_keys=True, default=str)
    memo = (standard, set_id, direction, version, key, partner)
    found = _MAPS.get(memo)
    if found is not None:
        return found
    path = builtin_path(standard, set_id)
    if not path.exists():
        raise ConfigurationError(f"no builtin map for {standard} {set_id}",
                                 code="config.unknown_map", partner=partner)
    loaded = _load(path, standard.lower(), set_id.upper(), direction, version, key, partner)
    if len(_MAPS) >= _MAPS_MAX:
        _MAPS.clear()
    _MAPS[memo] = loaded
    return loaded


_MAPS: dict[tuple[str, str, str, str | None, str, str | None], Map] = {}
_MAPS_MAX = 256


def map_transaction(interchange: Interchange, group: Group | None, transaction: Transaction, *,
                    overrides: dict[str, Any] | None = None,
                    partner: str | None = None) -> CanonicalDocument:
    """Map one received transaction with the envelope's parties as fallbacks.

    Usage:
        for ic in x12.read(data):
            for g in ic.groups:
                for t in g.transactions:
                    doc = map_transaction(ic, g, t, overrides=profile.map_overrides)
    """
    version = transaction.version or (group.version if group else None) or interchange.version
    m = load_map(interchange.standard, transaction.set_id, "inbound", version=version,
                 overrides=overrides, partner=partner)
    envelope = {
        "sender_id": (group.sender_id if group and group.sender_id else interchange.sender_id),
        "receiver_id": (group.receiver_id if group and group.receiver_id else interchange.receiver_id),
    }
    return m.to_canonical(transaction, partner=partner, envelope=envelope)


def render(doc: CanonicalDocument, standard: str, set_id: str, version: str | None = None, *,
           overrides: dict[str, Any] | None = None, partner: str | None = None) -> list[Segment]:
    """The outbound body for ``doc`` (see :meth:`Map.from_canonical`).

    Usage:
        body = render(ack, "x12", "855", "004010", overrides={"uom": {"CS": "CA"}})
    """
    m = load_map(standard, set_id, "outbound", version=version, overrides=overrides, partner=partner)
    return m.from_canonical(doc, partner=partner)

