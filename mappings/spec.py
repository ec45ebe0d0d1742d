"""The map specification: how EDI segments correspond to canonical fields, as data.

A map is one YAML file per transaction set (``mappings/builtin/x12_850.yaml``). Its rules
are *correspondences*, not procedures: "BEG03 is ``po_number``" reads an 850 into a
``PurchaseOrder`` and writes one back out, so one file serves both directions and a round
trip holds by construction. A rule marked ``only: inbound`` or ``only: outbound`` applies in
one direction (a second place a partner may send a value, say).

Positions are written ``"3"`` (element 3) or ``"3.2"`` (element 3, component 2), 1-based as
in the standards' documentation and :meth:`Segment.get`.

Usage:
    >>> from mappings.spec import load_spec, builtin_path
    >>> spec = load_spec(builtin_path("x12", "850"))
    >>> spec.document
    'purchase_order'
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from canonical.errors import ConfigurationError, Finding
from mappings.functions import document_function, element_function
from mappings.transforms import get_transform

__all__ = [
    "BUILTIN_DIR",
    "CodeList",
    "ElementRule",
    "HierarchyRule",
    "IdsRule",
    "LoopRule",
    "MapSpec",
    "Rule",
    "SegmentRule",
    "builtin_path",
    "config_error",
    "load_spec",
    "names_problems",
    "parse_position",
]

BUILTIN_DIR = Path(__file__).parent / "builtin"
Direction = Literal["inbound", "outbound"]


def parse_position(key: str | int) -> tuple[int, int]:
    """``"3"`` → (3, 1); ``"3.2"`` → (3, 2). Raises ValueError on anything else."""
    text = str(key)
    head, _, tail = text.partition(".")
    element, component = int(head), int(tail) if tail else 1
    if element < 1 or component < 1:
        raise ValueError(f"position {text!r} must be 1-based")
    return element, component


def _check_position(key: str) -> str:
    parse_position(key)
    return key


Position = Annotated[str, AfterValidator(_check_position)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ElementRule(_Spec):
    """What one element (or component) holds. A bare string is shorthand for ``field``."""

    field: str | None = Field(None, description="Canonical path relative to the rule's object")
    const: str | None = Field(None, description="Written as is on the way out; ignored inbound")
    transform: str | None = Field(None, description="Named value transform, e.g. date:CCYYMMDD, implied:2")
    codes: str | None = Field(None, description="Name of a code list in the map's `codes`")
    default: str | None = Field(None, description="Used when the value is absent (canonical side)")
    write_default: str | None = Field(None, description="Outbound only: canonical value used when absent")
    function: str | None = Field(None, description="Named function from mappings.functions (outbound)")
    count: str | None = Field(None, description="Outbound count: a list path, or `segments:TAG`")
    sequence: bool = Field(False, description="Outbound: the 1-based index of the item being written")

    @model_validator(mode="after")
    def _one_source(self) -> ElementRule:
        sources = [self.field, self.const, self.function, self.count]
        if sum(s is not None for s in sources) + int(self.sequence) != 1:
            raise ValueError("give exactly one of field, const, function, count or sequence")
        return self


class IdsRule(_Spec):
    """Qualifier/value pairs naming an item (X12 PO106/107 … ; EDIFACT LIN C212)."""

    start: int | None = Field(None, ge=1, description="X12: element of the first qualifier")
    count: int = Field(5, ge=1, le=20)
    pairs: list[tuple[str, str]] = Field(
        default_factory=list, description="Explicit (qualifier position, value position) pairs"
    )
    map: dict[str, str] = Field(description="Qualifier → canonical field; the first per field is written")

    @model_validator(mode="after")
    def _positions(self) -> IdsRule:
        if (self.start is None) == (not self.pairs):
            raise ValueError("give either start (X12 pairs) or pairs, not both")
        for q, v in self.pairs:
            parse_position(q)
            parse_position(v)
        return self

    def positions(self) -> list[tuple[tuple[int, int], tuple[int, int]]]:
        if self.start is not None:
            return [((self.start + 2 * i, 1), (self.start + 2 * i + 1, 1)) for i in range(self.count)]
        return [(parse_position(q), parse_position(v)) for q, v in self.pairs]


class _RuleBase(_Spec):
    name: str | None = Field(None, description="Handle for partner overrides to replace this rule")
    when: dict[Position, str | list[str]] = Field(default_factory=dict, description="Qualifier selector")
    field: str | None = Field(None, description="Object path (or list path with repeat)")
    repeat: bool = False
    only: Direction | None = None
    require: str | None = Field(None, description="Outbound: write only when this field has a value")
    elements: dict[Position, ElementRule] = Field(default_factory=dict)
    ids: IdsRule | None = None

    @field_validator("elements", mode="before")
    @classmethod
    def _shorthand(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {str(k): ({"field": r} if isinstance(r, str) else r) for k, r in v.items()}
        return v

    @field_validator("when", mode="before")
    @classmethod
    def _when_keys(cls, v: Any) -> Any:
        if isinstance(v, dict):
            for r in v.values():
                if isinstance(r, bool):
                    # YAML 1.1 reads ON, NO, Y and N as booleans; they are common EDI codes.
                    raise ValueError("a code was read as true/false: quote it (\"ON\", \"NO\")")
            return {str(k): r for k, r in v.items()}
        return v

    @model_validator(mode="after")
    def _repeat_has_field(self) -> _RuleBase:
        if self.repeat and not self.field:
            raise ValueError("repeat needs a field (the list each segment adds to)")
        return self


class SegmentRule(_RuleBase):
    segment: str = Field(pattern=r"^[A-Z][A-Z0-9]{1,2}$")


class LoopRule(_RuleBase):
    """A segment and the segments that follow it as its children (N1 loop, PO1 loop, LIN group)."""

    loop: str = Field(pattern=r"^[A-Z][A-Z0-9]{1,2}$")
    segments: list[Rule] = Field(default_factory=list)


class HierarchyRule(_Spec):
    """One X12 HL level (S, O, P, I); the tree is carried by HL02 parent pointers."""

    hl: str = Field(min_length=1, max_length=2)
    field: str | None = None
    repeat: bool = False
    transparent: bool = Field(
        False,
        description="The level may be absent on the wire: children found directly under the "
        "parent go into one implied instance, and an instance with nothing of its own "
        "(no value from this level's segments) is not written",
    )
    segments: list[Rule] = Field(default_factory=list)
    levels: list[HierarchyRule] = Field(default_factory=list)


def _rule_kind(data: Any) -> str | None:
    if isinstance(data, dict):
        return next((k for k in ("segment", "loop", "hl") if k in data), None)
    kinds: dict[type, str] = {SegmentRule: "segment", LoopRule: "loop", HierarchyRule: "hl"}
    return kinds.get(type(data))


Rule = Annotated[
    Annotated[SegmentRule, Tag("segment")]
    | Annotated[LoopRule, Tag("loop")]
    | Annotated[HierarchyRule, Tag("hl")],
    Discriminator(_rule_kind, custom_error_type="rule_kind",
                  custom_error_message="a rule needs one of segment, loop or hl"),
]
LoopRule.model_rebuild()
HierarchyRule.model_rebuild()


class CodeList(_Spec):
    """EDI code → canonical value. Outbound uses the first EDI code for a canonical value."""

    strict: bool = Field(False, description="An unknown code is a finding (else passed through)")
    values: dict[str, str]
    write: dict[str, str] = Field(
        default_factory=dict, description="Canonical → EDI where the first EDI code is not the one to write"
    )

    @model_validator(mode="before")
    @classmethod
    def _plain(cls, data: Any) -> Any:
        if isinstance(data, dict) and "values" not in data:
            return {"values": data}
        return data

    @field_validator("values", "write", mode="before")
    @classmethod
    def _str_keys(cls, v: Any) -> Any:  # YAML reads 01 as 1 and 9 as int: codes are text
        return {str(k): str(x) for k, x in v.items()} if isinstance(v, dict) else v


class MapSpec(_Spec):
    standard: Literal["x12", "edifact"]
    set_id: str
    document: str
    versions: list[str] = Field(min_length=1)
    description: str | None = None
    codes: dict[str, CodeList] = Field(default_factory=dict)
    envelope_defaults: dict[str, Literal["sender_id", "receiver_id"]] = Field(
        default_factory=dict, description="Canonical path → envelope party, when the body names none"
    )
    inbound_functions: list[str] = Field(default_factory=list, description="Run on the built dict")
    outbound_functions: list[str] = Field(default_factory=list, description="Run on the dumped dict")
    rules: list[Rule]
    version_overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)


def config_error(what: str, err: ValidationError, *, partner: str | None = None) -> ConfigurationError:
    """A ConfigurationError naming ``what`` (file or partner) and each path inside it."""
    findings = []
    for e in err.errors():
        path = ".".join(str(p) for p in e["loc"] if not str(p).startswith("function-"))
        findings.append(Finding(path=path, message=e["msg"], code="config.invalid"))
    return ConfigurationError(
        f"{what} is not a valid map", code="config.invalid_map", partner=partner, findings=findings
    )


@lru_cache(maxsize=64)
def load_spec(path: Path) -> MapSpec:
    """Read and validate one map file; errors name the file and the path inside it."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"{path}: cannot read map: {exc}", code="config.invalid_map") from exc
    try:
        spec = MapSpec.model_validate(raw)
    except ValidationError as exc:
        raise config_error(str(path), exc) from None
    problems = names_problems(spec)
    if problems:
        raise ConfigurationError(
            f"{path} is not a valid map", code="config.invalid_map",
            findings=[Finding(path=p, message=m, code="config.invalid") for p, m in problems],
        )
    return spec


def names_problems(spec: MapSpec) -> list[tuple[str, str]]:
    """Names a map uses that do not exist: transforms, code lists, functions."""
    out: list[tuple[str, str]] = []
    for where, name in (*((f"inbound_functions.{i}", n) for i, n in enumerate(spec.inbound_functions)),
                        *((f"outbound_functions.{i}", n) for i, n in enumerate(spec.outbound_functions))):
        try:
            document_function(name)
        except KeyError as exc:
            out.append((where, str(exc.args[0])))

    def walk(rules: list[Any], prefix: str) -> None:
        for i, rule in enumerate(rules):
            here = f"{prefix}.{i}"
            for key, el in getattr(rule, "elements", {}).items():
                at = f"{here}.elements.{key}"
                if el.transform is not None:
                    try:
                        get_transform(el.transform)
                    except KeyError as exc:
                        out.append((f"{at}.transform", str(exc.args[0])))
                if el.codes is not None and el.codes not in spec.codes:
                    out.append((f"{at}.codes", f"no code list {el.codes!r} in this map"))
                if el.function is not None:
                    try:
                        element_function(el.function)
                    except KeyError as exc:
                        out.append((f"{at}.function", str(exc.args[0])))
            walk(list(getattr(rule, "segments", [])), f"{here}.segments")
            walk(list(getattr(rule, "levels", [])), f"{here}.levels")

    walk(list(spec.rules), "rules")
    return out


def builtin_path(standard: str, set_id: str) -> Path:
    return BUILTIN_DIR / f"{standard.lower()}_{set_id.upper()}.yaml"
