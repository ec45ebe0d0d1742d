"""One HTTP session with an S/4HANA system: authentication, CSRF, timeouts, faults.

Writes carry a CSRF token fetched with ``X-CSRF-Token: Fetch`` on a GET (cookies kept by
the client). A 403 "CSRF token required" or a 401 ``invalid_token`` is answered once,
inside the session, by fetching fresh credentials and sending the request again; every
other failure is raised as a ``canonical.errors`` class (see :mod:`sap_errors`) and never
retried here.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from typing import Any

import httpx

from canonical.errors import ConfigurationError, RetryableError
from connectors.erp.sap_config import SapS4Config
from connectors.erp.sap_errors import classify_response, is_csrf_failure, is_expired_token

__all__ = ["SapSession", "WriteInDoubt"]


CSRF_SERVICE = "API_SALES_ORDER_SRV"


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


class WriteInDoubt(RetryableError):
    """The request was sent but no answer came: the ERP may or may not have written it."""

    code = "erp.timeout"


class SapSession:
    """httpx client bound to one S/4HANA system.

    Usage:
        session = SapSession(config)
        body = session.get_json("API_PRODUCT_SRV", "A_Product('TG11')")
    """

    def __init__(self, config: SapS4Config, *, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        timeout = httpx.Timeout(config.timeout_seconds, connect=config.connect_timeout_seconds)
        headers = {"Accept": "application/json"}
        if config.sap_client:
            headers["sap-client"] = config.sap_client
        self._http = httpx.Client(base_url=config.base_url, timeout=timeout, headers=headers,
                                  transport=transport)
        self._csrf: str | None = None
        self._bearer: str | None = None
        self._bearer_expires = 0.0

    def close(self) -> None:
        self._http.close()

    def service_path(self, service: str, resource: str = "") -> str:
        return f"{self.config.odata_root}/{service}/{resource}"

    # ------------------------------------------------------------ credentials
    def _auth_headers(self) -> dict[str, str]:
        cfg = self.config
        if cfg.auth == "basic" and cfg.username and cfg.password:
            return {"Authorization": _basic(cfg.username, cfg.password.get_secret_value())}
        if cfg.auth == "oauth2":
            if self._bearer is None or time.monotonic() >= self._bearer_expires:
                self._fetch_bearer()
            return {"Authorization": f"Bearer {self._bearer}"}
        return {}

    def _fetch_bearer(self) -> None:
        cfg = self.config
        if not (cfg.oauth_client_id and cfg.oauth_client_secret):
            raise ConfigurationError("OAuth 2.0 needs oauth_client_id and oauth_client_secret",
                                     code="erp.config")
        form = {"grant_type": "client_credentials", **({"scope": cfg.oauth_scope} if cfg.oauth_scope else {})}
        auth = httpx.BasicAuth(cfg.oauth_client_id, cfg.oauth_client_secret.get_secret_value())
        try:
            response = self._http.post(cfg.token_url, data=form, auth=auth)
        except httpx.TransportError as exc:
            raise RetryableError(f"OAuth token endpoint unreachable: {exc!r}",
                                 code="erp.unreachable", details={"url": cfg.token_url}) from exc
        if response.status_code != 200:
            raise classify_response(response, method="POST", path=cfg.token_url)
        body = response.json()
        self._bearer = str(body["access_token"])
        # refresh a little early: a token that expires in flight costs a 401 round trip
        lifetime = float(body.get("expires_in") or 3600)
        self._bearer_expires = time.monotonic() + max(1.0, lifetime * 0.9 - 5)

    def _fetch_csrf(self, service: str) -> str:
        path = self.service_path(service)
        response = self.request("GET", path, headers={"X-CSRF-Token": "Fetch"})
        token: str | None = response.headers.get("x-csrf-token")
        if not token or token.lower() == "required":
            raise RetryableError(f"SAP issued no CSRF token on GET {path}", code="erp.csrf",
                                 details={"method": "GET", "path": path,
                                          "status": response.status_code})
        self._csrf = token
        return token

    def forget_credentials(self, *, bearer: bool = True) -> None:
        """Drop the CSRF token and session cookies (and the bearer token); fetched anew next."""
        self._csrf = None
        self._http.cookies.clear()
        if bearer:
            self._bearer = None

    # ------------------------------------------------------------------ sending
    def _raw(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {**self._auth_headers(), **kw.pop("headers", {})}
        try:
            return self._http.request(method, path, headers=headers, **kw)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise RetryableError(f"SAP unreachable for {method} {path}: {exc!r}",
                                 code="erp.unreachable",
                                 details={"method": method, "path": path}) from exc
        except httpx.TimeoutException as exc:
            raise WriteInDoubt(f"SAP did not answer {method} {path} in time: {exc!r}",
                               details={"method": method, "path": path,
                                        "timeout_seconds": self.config.timeout_seconds}) from exc
        except httpx.TransportError as exc:
            raise WriteInDoubt(f"Connection to SAP lost during {method} {path}: {exc!r}",
                               code="erp.connection_lost",
                               details={"method": method, "path": path}) from exc

    def request(self, method: str, path: str, *, service: str | None = None,
                ok: tuple[int, ...] = (), **kw: Any) -> httpx.Response:
        """Send; refresh CSRF/bearer and resend once if the ERP asks; raise on failure.

        ``service`` names the OData service whose CSRF token a write needs; ``ok`` lists
        extra statuses returned rather than raised (e.g. 404 for a lookup).
        """
        unsafe = method not in ("GET", "HEAD")
        extra: Mapping[str, str] = kw.pop("headers", {})
        for attempt in (1, 2):
            headers = dict(extra)
            if unsafe:
                headers["X-CSRF-Token"] = self._csrf or self._fetch_csrf(service or CSRF_SERVICE)
            response = self._raw(method, path, headers=headers, **kw)
            if response.is_success or response.status_code in ok:
                return response
            expired = is_expired_token(response)
            if attempt == 1 and (expired or (unsafe and is_csrf_failure(response))):
                self.forget_credentials(bearer=expired)
                continue
            break
        raise classify_response(response, method=method, path=path)

    def get_json(self, service: str, resource: str, params: Mapping[str, str] | None = None,
                 *, headers: Mapping[str, str] | None = None) -> Any:
        """GET an OData resource and return the ``d`` payload."""
        query = {"$format": "json", **(params or {})}
        response = self.request("GET", self.service_path(service, resource), params=query,
                                headers=dict(headers or {}))
        return response.json()["d"]

    def get_link(self, url: str, *, headers: Mapping[str, str] | None = None) -> Any:
        """GET a link the ERP handed out (a ``__next`` page) and return the ``d`` payload."""
        target = httpx.URL(url)
        if "$format" not in target.params:
            target = target.copy_merge_params({"$format": "json"})  # params= would drop the link's query
        response = self.request("GET", str(target), headers=dict(headers or {}))
        return response.json()["d"]

    def post_json(self, service: str, resource: str, body: Mapping[str, Any],
                  params: Mapping[str, str] | None = None) -> Any:
        response = self.request("POST", self.service_path(service, resource), service=service,
                                json=dict(body), params=dict(params or {}),
                                headers={"Content-Type": "application/json"})
        return response.json()["d"]
