"""``docs/connectors.md``: every connector's configuration, generated from its pydantic model."""

from __future__ import annotations

from connectors.config_docs import render_config_reference
from connectors.erp.sap_config import SapS4Config
from connectors.transports.as2 import AS2PartnerConfig
from connectors.transports.directory import DirectoryConfig
from connectors.transports.rest_poll import RestPollConfig
from connectors.transports.sftp import SftpConfig
from connectors.transports.soap import SoapConfig
from connectors.transports.soap_poll import SoapPollConfig
from connectors.transports.webhook import WebhookConfig
from hub.partners import Destination, PartnerProfile
from hub.sources import ConnectorEntry

__all__ = ["connectors_reference"]

SECTIONS = (
    ("Partner profile", PartnerProfile, "A partner's profile (YAML under `CROSSDOCK_PARTNERS_DIR`, or "
     "`POST /api/v1/partners`). Secrets may be given as they are; the API shows them as `***`."),
    ("Pull connector entry", ConnectorEntry, "One item of a profile's `connectors` list."),
    ("SFTP (`type: sftp`)", SftpConfig, "The `config` of an `sftp` entry; `partner_id` defaults to the profile's id."),
    ("REST polling (`type: rest_poll`)", RestPollConfig, "The `config` of a `rest_poll` entry."),
    ("SOAP polling (`type: soap_poll`)", SoapPollConfig, "The `config` of a `soap_poll` entry: a partner's "
     "SOAP operation called periodically with the cursor of its previous answer."),
    ("Webhook (`webhook:`)", WebhookConfig, "Signed deliveries to `POST /api/v1/webhooks/{partner}`."),
    ("Destination (`destinations:`)", Destination, "Where accepted documents are delivered."),
    ("AS2", AS2PartnerConfig, "An AS2 trading partner."),
    ("Watched folder", DirectoryConfig, "The embedded watched folder (`CROSSDOCK_WATCH_DIR`)."),
    ("SOAP", SoapConfig, "Calling a partner's or the ERP's SOAP service."),
    ("SAP S/4HANA", SapS4Config, "The ERP gateway."),
)


def connectors_reference() -> str:
    parts = ["# Connector configuration reference", "",
             "Generated from the configuration models by `crossdock config connectors`; "
             "a test keeps this page current.", ""]
    for title, model, intro in SECTIONS:
        parts += [f"# {title}", "", intro, "", render_config_reference(model).strip(), ""]
    return "\n".join(parts)
