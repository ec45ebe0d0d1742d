"""SOAP client factory (zeep) with hardened XML, WS-Security and classified failures.

Every client is built with zeep settings that refuse DTDs, entity declarations and external
references and never switch on lxml's huge-tree mode, from a WSDL kept in the repository
(``connectors/transports/wsdl/``) so nothing is fetched from the network to describe a
service. Calls go through :meth:`SoapClient.call`, which returns plain dicts and raises only
canonical errors (see :mod:`connectors.transports.soap_errors`).

Usage:
    client = SoapClient(SoapConfig(wsdl="sap_material_get_detail.wsdl",
                                   endpoint="https://erp.example/sap/bc/srt/rfc/sap/…",
                                   username="CROSSDOCK", password="…"), partner_id="SAP")
    detail = client.call("MaterialGetDetail", Material="TG11", Plant="1710")
    check_bapi_return(detail, partner="SAP")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import requests
import zeep
from pydantic import Field, SecretStr
from zeep.helpers import serialize_object
from zeep.transports import Transport
from zeep.wsse.username import UsernameToken

from canonical.errors import ConfigurationError, PermanentError, RetryableError
from connectors.base import ConnectorConfig
from connectors.transports.rest_poll.http import parse_retry_after
from connectors.transports.soap_errors import (
    RETRYABLE_STATUS,
    check_bapi_return,
    classify_soap_error,
)

__all__ = [
    "WSDL_DIR",
    "HardenedTransport",
    "SoapClient",
    "SoapConfig",
    "check_bapi_return",
    "hardened_settings",
    "make_soap_client",
]

WSDL_DIR = Path(__file__).parent / "wsdl"


class SoapConfig(ConnectorConfig):
    """One SOAP service of one partner."""

    wsdl: str = Field(title="WSDL", description="File name under connectors/transports/wsdl/, or a path")
    endpoint: str | None = Field(None, title="Endpoint URL", description="Replaces the WSDL's soap:address")
    username: str | None = None
    password: SecretStr | None = None
    credentials: Literal["ws_security", "http_basic", "both"] = Field(
        "ws_security", description="WS-Security UsernameToken in the SOAP header, HTTP Basic, or both",
    )
    password_digest: bool = Field(False, description="UsernameToken PasswordDigest instead of PasswordText")
    timeout_seconds: float = Field(30.0, gt=0, title="Operation timeout (s)")
    sap_csrf: bool = Field(False, description="Fetch an X-CSRF-Token before POSTs (SAP gateways that demand one)")
    business_faults: frozenset[str] = Field(
        frozenset(), description="Fault detail names (e.g. an exception class) that are business rejections",
    )


def hardened_settings() -> zeep.Settings:
    """zeep settings for untrusted XML: no DTD, no entities, no external references."""
    return zeep.Settings(strict=True, xml_huge_tree=False, forbid_dtd=True, forbid_entities=True,
                         forbid_external=True)


class HardenedTransport(Transport):
    """requests transport with timeouts, SAP CSRF tokens and status classification.

    Non-XML error answers (a 503 page, a JSON gateway error) are classified here, where the
    response headers (``Retry-After``) are still at hand; SOAP faults go on to zeep.
    """

    def __init__(self, *, timeout: float, csrf: bool, session: requests.Session | None = None,
                 partner_id: str | None = None) -> None:
        super().__init__(timeout=timeout, operation_timeout=timeout, session=session)  # type: ignore[no-untyped-call]
        self.csrf = csrf
        self.partner_id = partner_id
        self._token: str | None = None

    def _fetch_token(self, address: str) -> str | None:
        response = self.session.get(address, headers={"X-CSRF-Token": "Fetch"}, timeout=self.operation_timeout)
        return response.headers.get("x-csrf-token")

    def post(self, address: str, message: Any, headers: dict[str, str]) -> requests.Response:
        if self.csrf and self._token is None:
            self._token = self._fetch_token(address)
        if self._token:
            headers = {**headers, "X-CSRF-Token": self._token}
        response = self._send(address, message, headers)
        if self.csrf and response.status_code == 403 and response.headers.get("x-csrf-token", "").lower() == "required":
            self._token = self._fetch_token(address)  # expired with the session: once more
            response = self._send(address, message, {**headers, "X-CSRF-Token": self._token or ""})
        self._classify(response)
        return response

    def _send(self, address: str, message: Any, headers: dict[str, str]) -> requests.Response:
        # Not Transport.post: that logs the whole envelope at DEBUG, WS-Security password included.
        return self.session.post(address, data=message, headers=headers, timeout=self.operation_timeout)

    def _classify(self, response: requests.Response) -> None:
        kind = response.headers.get("Content-Type", "").lower()
        if response.status_code < 400 or "xml" in kind:
            return  # a success, or a SOAP fault for zeep to read
        status = response.status_code
        details = {"status": status, "url": response.url, "body": response.text[:500]}
        if status in RETRYABLE_STATUS:
            raise RetryableError(f"SOAP endpoint answered {status}", code="soap.unavailable",
                                 retry_after=parse_retry_after(response.headers.get("Retry-After")),
                                 details=details, partner=self.partner_id)
        code = "soap.unauthorized" if status in (401, 403) else "soap.http_error"
        raise PermanentError(f"SOAP endpoint answered {status}", code=code, details=details, partner=self.partner_id)


def _wsdl_path(name: str) -> str:
    path = Path(name) if Path(name).is_absolute() else WSDL_DIR / name
    if not path.is_file():
        raise ConfigurationError(f"WSDL {name!r} is not in {WSDL_DIR}", details={"wsdl": name})
    return str(path)


def make_soap_client(config: SoapConfig, *, partner_id: str | None = None) -> zeep.Client:
    """A zeep client for ``config`` with hardened XML settings (see module docs).

    Usage: ``make_soap_client(SoapConfig(wsdl="sap_material_get_detail.wsdl")).service``
    """
    session = requests.Session()
    password = config.password.get_secret_value() if config.password else None
    if config.username and password is not None and config.credentials in ("http_basic", "both"):
        session.auth = (config.username, password)
    transport = HardenedTransport(timeout=config.timeout_seconds, csrf=config.sap_csrf, session=session,
                                  partner_id=partner_id)
    wsse = None
    if config.username and password is not None and config.credentials in ("ws_security", "both"):
        wsse = UsernameToken(config.username, password, use_digest=config.password_digest)  # type: ignore[no-untyped-call]
    return zeep.Client(_wsdl_path(config.wsdl), transport=transport, settings=hardened_settings(), wsse=wsse)  # type: ignore[no-untyped-call]


class SoapClient:
    """Calls operations by name; returns plain dicts; raises canonical errors only.

    Usage: ``SoapClient(config, partner_id="SAP").call("MaterialGetDetail", Material="TG11")``
    """

    def __init__(self, config: SoapConfig, *, partner_id: str | None = None) -> None:
        self.config = config
        self.partner_id = partner_id
        self.zeep = make_soap_client(config, partner_id=partner_id)
        binding = next(iter(self.zeep.wsdl.bindings))
        self.service = self.zeep.create_service(binding, config.endpoint) if config.endpoint else self.zeep.service  # type: ignore[no-untyped-call]

    def call(self, operation: str, **params: Any) -> Any:
        try:
            result = getattr(self.service, operation)(**params)
        except Exception as exc:  # zeep, requests and lxml errors: classified, never leaked raw
            raise classify_soap_error(exc, partner=self.partner_id, operation=operation,
                                      business_faults=self.config.business_faults) from exc
        return serialize_object(result, dict)  # type: ignore[no-untyped-call]
