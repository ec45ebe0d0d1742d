"""Configuration of the SAP S/4HANA gateway: one documented pydantic model."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from connectors.base import ConnectorConfig

__all__ = ["SapS4Config"]


class SapS4Config(ConnectorConfig):
    """How Crossdock reaches one S/4HANA system over its public OData V2 APIs.

    Usage:
        >>> SapS4Config(base_url="https://s4.example.com", auth="basic",
        ...             username="CROSSDOCK", password="secret").odata_root
        '/sap/opu/odata/sap'
    """

    base_url: str = Field(title="Base URL", description="Scheme, host and port, no path",
                          examples=["https://my-s4.example.com:44300"])
    sap_client: str | None = Field(None, title="SAP client",
                                   description="Sent as the sap-client header; None for the default")
    auth: Literal["none", "basic", "oauth2"] = Field(
        "basic", description="HTTP basic, OAuth 2.0 client credentials, or none")
    username: str | None = Field(None, description="Communication user (basic auth)")
    password: SecretStr | None = Field(None, description="Its password (basic auth)")
    oauth_token_url: str | None = Field(
        None, description="Token endpoint; defaults to <base_url>/sap/bc/sec/oauth2/token")
    oauth_client_id: str | None = Field(None, description="OAuth 2.0 client id")
    oauth_client_secret: SecretStr | None = Field(None, description="OAuth 2.0 client secret")
    oauth_scope: str | None = Field(None, description="Scope to request, if the server needs one")
    timeout_seconds: float = Field(30.0, gt=0, description="Read/write timeout per request")
    connect_timeout_seconds: float = Field(5.0, gt=0, description="TCP connect timeout")
    in_doubt_hold_seconds: float = Field(
        120.0, ge=0,
        description="After a create timed out (the ERP may still be writing it), how long "
                    "ensure_sales_order refuses to create the same order again; the lookup "
                    "still runs and returns the order as soon as it appears")
    validate_before_create: bool = Field(
        True, description="Check sold-to party and materials before creating a sales order, "
                          "so an unknown material is a business exception, not an order")
    odata_root: str = Field("/sap/opu/odata/sap", description="Path under which the APIs live")
    max_pages: int = Field(
        10_000, ge=1,
        description="Most pages one read follows through the server's __next links; a read "
                    "that goes on longer is treated as a paging loop and fails")
    idoc_path: str = Field("/sap/bc/idoc", description="Inbound IDoc endpoint (XML over HTTP)")
    sales_order_change_path: str = Field(
        "/sap/bc/srt/rfc/sap/bapi_salesorder_change/100/bapi_salesorder_change/binding",
        description="SOAP endpoint of BAPI_SALESORDER_CHANGE (a web service with commit on success), "
                    "through which a customer's order change or cancel reaches the sales order")
    item_cancellation: Literal["reject", "delete"] = Field(
        "reject", description="How a cancelled order or removed line leaves the sales order: a reason "
                              "for rejection on the item (keeps the history), or deleting the item")
    rejection_reason: str = Field(
        "10", min_length=1, max_length=2,
        description="Reason for rejection set on cancelled items (item_cancellation 'reject')")
    sales_order_type: str = Field("OR", description="Sales document type for created orders")
    sales_organization: str = Field("1710", description="Sales organization")
    distribution_channel: str = Field("10", description="Distribution channel")
    division: str = Field("00", description="Division (OrganizationDivision)")
    company_code: str = Field("1710", description="Company code for supplier invoices")
    idoc_sender_port: str = Field("CROSSDOCK", description="EDI_DC40 SNDPOR of IDocs we send")
    idoc_sender_partner: str = Field("CROSSDOCK", description="EDI_DC40 SNDPRN (logical system)")

    @model_validator(mode="after")
    def _credentials(self) -> SapS4Config:
        if self.auth == "basic" and not (self.username and self.password):
            raise ValueError("auth 'basic' needs username and password")
        if self.auth == "oauth2" and not (self.oauth_client_id and self.oauth_client_secret):
            raise ValueError("auth 'oauth2' needs oauth_client_id and oauth_client_secret")
        return self

    @property
    def token_url(self) -> str:
        return self.oauth_token_url or f"{self.base_url.rstrip('/')}/sap/bc/sec/oauth2/token"
