"""The EDI part of a partner profile: standard, identifiers, acknowledgments, maps.

Usage:
    profile = PartnerProfile.model_validate({"id": "ACME", "name": "Acme", "edi": {
        "standard": "x12", "interchange_id": "ACME", "our_interchange_id": "CROSSDOCK"}})
    edi = edi_profile(partner_dict)          # None when the partner trades no EDI
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = ["EdiProfile", "edi_profile", "functional_ack_kind"]

_DEFAULT_VERSION = {"x12": "004010", "edifact": "D96A"}


class EdiProfile(BaseModel):
    """How Crossdock trades EDI with one partner."""

    model_config = ConfigDict(extra="forbid")
    standard: Literal["x12", "edifact"] = Field(description="ANSI X12 or UN/EDIFACT")
    version: str = Field("", description="X12 004010 / 005010, EDIFACT D96A (empty: the standard's default)")
    interchange_id: str = Field(min_length=1, max_length=35, description="The partner's ISA06 / UNB sender id")
    interchange_qualifier: str = Field("ZZ", max_length=4, description="ISA05 / UNB 0007")
    our_interchange_id: str = Field(min_length=1, max_length=35, description="Our ISA08 / UNB recipient id with them")
    our_interchange_qualifier: str = Field("ZZ", max_length=4, description="ISA07 / UNB 0007")
    functional_ack: Literal["auto", "997", "999", "CONTRL", "none"] = Field(
        "auto", description="What we answer each group / interchange with (auto: 997 for X12, CONTRL for EDIFACT)")
    ta1: Literal["asked", "always", "never"] = Field(
        "asked", description="TA1: when ISA14 asks (or the envelope is broken), for every interchange, or never")
    expects_ack: bool = Field(True, description="The partner acknowledges what we send (997/CONTRL)")
    ack_expected_within_seconds: int = Field(86400, ge=1, description="When an unacknowledged document is overdue")
    strict: bool = Field(False, description="Reject a set in our 997 for any finding, not only fatal ones")
    auto_respond: list[Literal["855", "856", "810", "865"]] = Field(
        default_factory=list,
        description="Customers: answer each new order at once with these (confirmed up to the stock in "
                    "reference data, then shipped and invoiced as confirmed), until an ERP feeds them; "
                    "865: answer each change to an order not yet shipped, line by line (X12: an 865 to "
                    "each 860; EDIFACT: an ORDRSP to each ORDCHG, BGM 1225 4 and RFF+CR naming the change)")
    stock_shortfall: Literal["backorder", "reject"] = Field(
        "backorder", description="auto_respond: what the 855/ORDRSP says of the part of a line beyond stock: "
                                 "backorder (BP with what ships now and IB with the balance, IB alone when none "
                                 "is left / LIN 3 with QTY+83) or reject (IC, or IR when none is left / "
                                 "LIN 3, or 7)")
    map_overrides: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per transaction set (e.g. '856', 'DESADV'): mapping overrides")
    test: bool = Field(False, description="Mark what we send as test data (ISA15 T / UNB 0035 1)")
    transport: Literal["as2", "directory", "mailbox"] = Field(
        "as2", description="as2: POST to the partner's AS2 url; directory: write files; mailbox: they collect")
    outbound_dir: str | None = Field(None, description="directory transport: where interchanges are written")

    @model_validator(mode="after")
    def _complete(self) -> EdiProfile:
        if not self.version:
            self.version = _DEFAULT_VERSION[self.standard]
        if self.standard == "x12" and self.version[:6] not in ("004010", "005010"):
            raise ValueError(f"version {self.version!r}: X12 004010 or 005010")
        if self.standard == "edifact" and self.version.replace(":", "").upper()[:4] not in ("D96A", "D01B"):
            raise ValueError(f"version {self.version!r}: EDIFACT D96A (or D01B)")
        if self.functional_ack in ("997", "999") and self.standard != "x12" or \
                self.functional_ack == "CONTRL" and self.standard != "edifact":
            raise ValueError(f"functional_ack {self.functional_ack} does not fit {self.standard}")
        if self.transport == "directory" and not self.outbound_dir:
            raise ValueError("transport directory needs outbound_dir")
        return self


def functional_ack_kind(edi: EdiProfile, group_version: str | None) -> str:
    """'997', '999', 'CONTRL' or 'none' for a received group."""
    if edi.functional_ack != "auto":
        return edi.functional_ack
    return "CONTRL" if edi.standard == "edifact" else "997"


# Per partner id: the EDI section last validated (the object itself) and what it gave.
_SEEN: dict[str, tuple[Any, EdiProfile | None]] = {}


def edi_profile(partner: dict[str, Any] | None) -> EdiProfile | None:
    """The validated EDI section of a stored partner profile, or None.

    Validated again only when the section is a new object: the hub hands stages the same
    profile object until it reads the partner again (as ``hub.ops.stages._rules_of`` relies
    on), so reading and answering an interchange validates its partner's section once, not
    at each step. The result is shared: read it, never change it.
    """
    raw = (partner or {}).get("edi")
    if not raw:
        return None
    key = str((partner or {}).get("id"))
    seen = _SEEN.get(key)
    if seen is not None and seen[0] is raw:
        return seen[1]
    try:
        found: EdiProfile | None = EdiProfile.model_validate(raw)
    except ValidationError:
        found = None
    _SEEN[key] = (raw, found)
    return found
