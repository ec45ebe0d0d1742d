"""httpx authentication for polled APIs: API key, Basic, OAuth2 client credentials.

The OAuth2 flow caches its access token in memory until shortly before ``expires_in``
runs out, and fetches a new one once when the API answers 401 (a token revoked or
expired early). Tokens are never written to the state store.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Generator

import httpx

from canonical.errors import PermanentError, RetryableError
from connectors.transports.rest_poll.config import (
    ApiKeyAuth,
    AuthConfig,
    BasicAuth,
    OAuth2ClientCredentials,
)

__all__ = ["ApiKeyAuthFlow", "OAuth2ClientCredentialsFlow", "build_auth"]


class ApiKeyAuthFlow(httpx.Auth):
    def __init__(self, config: ApiKeyAuth) -> None:
        self.config = config

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        value = self.config.value.get_secret_value()
        if self.config.location == "header":
            request.headers[self.config.name] = value
        else:
            request.url = request.url.copy_merge_params({self.config.name: value})
        yield request


class OAuth2ClientCredentialsFlow(httpx.Auth):
    """Usage: ``httpx.Client(auth=OAuth2ClientCredentialsFlow(config))``."""

    requires_response_body = True

    def __init__(self, config: OAuth2ClientCredentials, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self.fetches = 0  # how many tokens were requested (visible in metrics and tests)

    def _token_request(self) -> httpx.Request:
        c = self.config
        form = {"grant_type": "client_credentials", **({"scope": c.scope} if c.scope else {})}
        headers = {"Accept": "application/json"}
        if c.client_auth == "body":
            form |= {"client_id": c.client_id, "client_secret": c.client_secret.get_secret_value()}
        else:
            pair = f"{c.client_id}:{c.client_secret.get_secret_value()}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        return httpx.Request("POST", c.token_url, data=form, headers=headers)

    def _accept(self, response: httpx.Response) -> None:
        details = {"token_url": self.config.token_url, "status": response.status_code}
        if response.status_code >= 500 or response.status_code == 429:
            raise RetryableError("the OAuth2 token endpoint is unavailable",
                                 code="rest_poll.auth_unavailable", details=details)
        if response.status_code != 200:
            raise PermanentError("the OAuth2 token endpoint refused our client credentials",
                                 code="rest_poll.auth_refused", details=details)
        body = response.json()
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise PermanentError("the OAuth2 token response has no access_token",
                                 code="rest_poll.auth_refused", details=details)
        lifetime = float(body.get("expires_in") or 3600)  # some issuers send it as a string
        with self._lock:
            self._token = token
            self._expires_at = self.clock() + max(lifetime - self.config.expiry_margin_seconds, 0)
            self.fetches += 1

    def _valid_token(self) -> str | None:
        with self._lock:
            return self._token if self._token and self.clock() < self._expires_at else None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._valid_token()
        if token is None:
            self._accept((yield self._token_request()))
            token = self._valid_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            self._accept((yield self._token_request()))
            request.headers["Authorization"] = f"Bearer {self._valid_token()}"
            yield request


def build_auth(config: AuthConfig | None) -> httpx.Auth | None:
    """The httpx auth for a config (None: no authentication).

    Usage: ``httpx.Client(auth=build_auth(config.auth))``
    """
    if config is None:
        return None
    if isinstance(config, ApiKeyAuth):
        return ApiKeyAuthFlow(config)
    if isinstance(config, BasicAuth):
        return httpx.BasicAuth(config.username, config.password.get_secret_value())
    return OAuth2ClientCredentialsFlow(config)
