"""Partner profiles: validated at load (files and API alike), errors name partner and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from canonical.errors import ConfigurationError
from connectors.transports.as2.config import AS2PartnerConfig
from connectors.transports.webhook import WebhookConfig
from hub.edi.profile import EdiProfile
from hub.erp.destination import ErpTarget
from hub.erp.suppliers import ErpSupplierTarget
from hub.logging import SECRET_KEYS
from hub.sources import ConnectorEntry, validate_connector_config
from hub.storage.tables import Partner
from pipelines.intelligence.agents import parse_agent_policies

__all__ = [
    "MASK",
    "Destination",
    "mask_secrets",
    "restore_masked",
    "PartnerProfile",
    "load_profile_files",
    "profile_error",
    "upsert_partner",
]


class Destination(BaseModel):
    """Where accepted documents go next (the outbox relays them, retrying on failure)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["http", "directory", "sap_s4"] = Field(
        description="`http`: POST canonical JSON; `directory`: write a file atomically; `sap_s4`: a sales order in SAP S/4HANA")
    url: str | None = Field(None, description="http: the endpoint; an `Idempotency-Key` header carries the document's key")
    path: str | None = Field(None, description="directory: the folder to write `<key>.json` files into")
    document_types: list[str] = Field(default_factory=list, description="Only these types (all when empty)")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra HTTP headers")
    erp: ErpTarget | ErpSupplierTarget | None = Field(
        None, description="sap_s4: the ERP connection and the customer's sold-to party and material mapping, "
                          "or the supplier's number and item mapping")

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v

    @model_validator(mode="after")
    def _erp_target(self) -> Destination:
        if self.type == "sap_s4" and self.erp is None:
            raise ValueError("an sap_s4 destination needs `erp` (connection, sold_to or supplier, ...)")
        return self


class PartnerProfile(BaseModel):
    """A trading partner: who they are and how Crossdock deals with them."""

    model_config = ConfigDict(extra="allow")
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$", description="Our id for the partner")
    name: str = Field(min_length=1, description="Display name")
    role: Literal["customer", "supplier", "carrier", "shop", "internal"] = "customer"
    active: bool = True
    defaults: dict[str, Any] = Field(default_factory=dict, description="Values filled into documents that lack them, e.g. currency")
    destinations: list[Destination] = Field(default_factory=list)
    retry_rules: list[dict[str, Any]] = Field(
        default_factory=list, description='Classification overrides: [{"match": "code:...", "action": "retry"}]'
    )
    edi: EdiProfile | None = Field(None, description="X12 / EDIFACT: standard, interchange ids, acknowledgments")
    as2: AS2PartnerConfig | None = Field(None, description="AS2: the partner's AS2 id and URL, ours, MDN mode")
    connectors: list[ConnectorEntry] = Field(
        default_factory=list, description="Pull connectors (SFTP, REST polling) with their schedules"
    )
    webhook: WebhookConfig | None = Field(None, description="How the partner signs webhooks to /api/v1/webhooks/{id}")
    fallback_carrier: str | None = Field(None, description="SCAC to book with when this carrier's API fails")
    agents: list[dict[str, Any]] = Field(
        default_factory=list, description="Resolution agent policies for this partner: "
        '[{"agent": "price_within_tolerance", "mode": "auto", "min_confidence": 0.8, "max_amount": "250"}]'
    )

    @model_validator(mode="after")
    def _connector_configs(self) -> PartnerProfile:
        for i, entry in enumerate(self.connectors):
            try:
                validate_connector_config(self.id, entry)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise ValueError(f"connectors.{i}.config.{where}: {first['msg']}") from None
        try:
            parse_agent_policies([{**row, "partner": self.id} for row in self.agents])
        except ValidationError as exc:
            first = exc.errors()[0]
            raise ValueError(f"agents.{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
        names = [e.name for e in self.connectors]
        if len(names) != len(set(names)):
            raise ValueError("connectors: two entries share a name; give each a distinct `name`")
        return self


def profile_error(exc: ValidationError, partner: str, source: str) -> ConfigurationError:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '(profile)'}: {err['msg']}" for err in exc.errors()
    )
    return ConfigurationError(f"partner {partner!r} ({source}): {problems}", code="partner.invalid_profile",
                              partner=partner)


MASK = "***"


def mask_secrets(value: Any) -> Any:
    """A profile as the API shows it: secret-looking values replaced by ``***``."""
    if isinstance(value, dict):
        return {k: (MASK if SECRET_KEYS.search(k) and v not in (None, "") and not isinstance(v, dict | list)
                    else mask_secrets(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    return value


def restore_masked(new: Any, old: Any) -> Any:
    """A profile sent back with ``***`` where it was masked keeps the stored secret."""
    if isinstance(new, dict) and isinstance(old, dict):
        return {k: (old.get(k) if v == MASK and k in old else restore_masked(v, old.get(k))) for k, v in new.items()}
    if isinstance(new, list) and isinstance(old, list):
        return [restore_masked(n, old[i] if i < len(old) else None) for i, n in enumerate(new)]
    return new


def _stored_form(profile: PartnerProfile, raw: dict[str, Any] | None) -> dict[str, Any]:
    # Secrets must survive storage: pydantic writes SecretStr as "**********" in JSON mode.
    data = profile.model_dump(mode="json")
    if raw is not None:
        if raw.get("webhook") is not None:
            data["webhook"] = {**data["webhook"], **{k: v for k, v in raw["webhook"].items() if k == "secret"}}
        data["connectors"] = [dict(entry) for entry in raw.get("connectors") or []]
    return data


def upsert_partner(session: Session, profile: PartnerProfile, *, source: str,
                   raw: dict[str, Any] | None = None) -> Partner:
    row = session.get(Partner, profile.id)
    data = _stored_form(profile, raw)
    if row is None:
        row = Partner(id=profile.id, name=profile.name, role=profile.role, active=profile.active,
                      profile=data, source=source)
        session.add(row)
    else:
        row.name, row.role, row.active, row.profile, row.source = (
            profile.name, profile.role, profile.active, data, source)
    return row


def load_profile_files(session: Session, directory: Path) -> list[str]:
    """Load every ``*.yaml``/``*.yml`` in ``directory``; one bad file fails with its name."""
    loaded = []
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        raw = yaml.safe_load(path.read_text()) or {}
        if not isinstance(raw, dict):
            raise ConfigurationError(f"{path}: a partner profile must be a mapping", code="partner.invalid_profile")
        try:
            profile = PartnerProfile.model_validate(raw)
        except ValidationError as exc:
            raise profile_error(exc, str(raw.get("id", path.stem)), str(path)) from None
        upsert_partner(session, profile, source="file", raw=raw)
        loaded.append(profile.id)
    return loaded


def partner_dict(session: Session, partner_id: str) -> dict[str, Any] | None:
    row = session.scalar(select(Partner).where(Partner.id == partner_id))
    if row is None:
        return None
    return {**row.profile, "id": row.id, "name": row.name, "role": row.role, "active": row.active,
            "paused": row.paused}
