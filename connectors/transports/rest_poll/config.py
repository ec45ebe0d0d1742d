"""Declarative configuration of a REST polling source: where, how to sign in, how to page."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from connectors.base import ConnectorConfig

__all__ = [
    "ApiKeyAuth",
    "AuthConfig",
    "BasicAuth",
    "CursorPagination",
    "IncrementalCursor",
    "LinkHeaderPagination",
    "NoPagination",
    "OAuth2ClientCredentials",
    "OffsetPagination",
    "PageNumberPagination",
    "PaginationConfig",
    "RestPollConfig",
    "RetrySettings",
]


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApiKeyAuth(_Part):
    """An API key in a header (preferred) or the query; a query key is kept out of receipts,
    state and error details, but proxies and access logs on the way still see URLs."""

    type: Literal["api_key"] = "api_key"
    name: str = Field(title="Header or query parameter name", examples=["X-API-Key"])
    value: SecretStr
    location: Literal["header", "query"] = "header"


class BasicAuth(_Part):
    type: Literal["basic"] = "basic"
    username: str
    password: SecretStr


class OAuth2ClientCredentials(_Part):
    """Client-credentials grant; the token is cached until shortly before it expires."""

    type: Literal["oauth2_client_credentials"] = "oauth2_client_credentials"
    token_url: str
    client_id: str
    client_secret: SecretStr
    scope: str | None = None
    client_auth: Literal["basic", "body"] = Field(
        "basic", description="Send the client credentials as HTTP Basic (RFC 6749 §2.3.1) or in the form body",
    )
    expiry_margin_seconds: float = Field(30, ge=0, description="Refresh this long before `expires_in` runs out")


AuthConfig = Annotated[ApiKeyAuth | BasicAuth | OAuth2ClientCredentials, Field(discriminator="type")]


class NoPagination(_Part):
    type: Literal["none"] = "none"


class CursorPagination(_Part):
    """The response names the next page's token (``meta.next_cursor``); absent/empty ends."""

    type: Literal["cursor"] = "cursor"
    next_path: str = Field("next_cursor", description="Dotted path of the next token in the JSON body")
    param: str = Field("cursor", description="Query parameter that carries the token")


class OffsetPagination(_Part):
    """``offset``/``limit``; ends on a short page (or at ``total_path`` when given)."""

    type: Literal["offset"] = "offset"
    offset_param: str = "offset"
    limit_param: str = "limit"
    limit: int = Field(100, gt=0)
    total_path: str | None = Field(None, description="Dotted path of the total record count, if sent")


class PageNumberPagination(_Part):
    """``page=1, 2, …``; ends on an empty or short page (or at ``total_pages_path``)."""

    type: Literal["page"] = "page"
    page_param: str = "page"
    first_page: int = 1
    size_param: str | None = "per_page"
    size: int = Field(100, gt=0)
    total_pages_path: str | None = None


class LinkHeaderPagination(_Part):
    """RFC 8288 ``Link: <…>; rel="next"``; the next URL is followed as given."""

    type: Literal["link"] = "link"


PaginationConfig = Annotated[
    NoPagination | CursorPagination | OffsetPagination | PageNumberPagination | LinkHeaderPagination,
    Field(discriminator="type"),
]


class IncrementalCursor(_Part):
    """A record field whose greatest value is saved; the next poll asks only for newer records.

    Values are compared as strings, so use a sortable form (ISO 8601 UTC, zero-padded ids).
    """

    field: str = Field(description="Dotted path in each record, e.g. `updated_at`")
    param: str = Field(description="Query parameter that sends the saved value, e.g. `updated_since`")
    initial: str | None = Field(None, description="Value to send on the very first poll")


class RetrySettings(_Part):
    """Retries inside one poll: exponential backoff, ``Retry-After`` honoured up to a cap."""

    max_attempts: int = Field(4, ge=1)
    backoff_seconds: float = Field(1.0, ge=0)
    backoff_max_seconds: float = Field(30.0, ge=0)
    max_retry_after_seconds: float = Field(
        60.0, ge=0,
        description="A longer Retry-After is not slept through: the poll fails retryable and the scheduler waits",
    )


class RestPollConfig(ConnectorConfig):
    """One REST endpoint polled for documents.

    Usage:
        RestPollConfig(base_url="https://shop.example", path="/api/orders",
                       pagination=CursorPagination(next_path="meta.next"),
                       records_path="data.items",
                       incremental=IncrementalCursor(field="updated_at", param="updated_since"))
    """

    base_url: str = Field(title="Base URL", examples=["https://api.example.com"])
    path: str = Field("", title="Path", examples=["/v1/orders"])
    params: dict[str, str] = Field(default_factory=dict, title="Fixed query parameters")
    headers: dict[str, str] = Field(default_factory=dict, title="Extra request headers")
    auth: AuthConfig | None = None
    pagination: PaginationConfig = Field(default_factory=NoPagination)
    records_path: str | None = Field(None, title="Records path", description="Dotted path to the record list; None: the body is the list")
    incremental: IncrementalCursor | None = None
    document_type: str | None = Field(None, title="Document type hint stored on each receipt")
    timeout_seconds: float = Field(30.0, gt=0)
    retry: RetrySettings = Field(default_factory=RetrySettings)
    max_pages: int = Field(10_000, gt=0, description="Safety stop for one poll")
    lease_seconds: float = Field(600.0, gt=0, description="How long one node holds the source while polling")

    @property
    def url(self) -> str:
        return self.base_url.rstrip("/") + ("/" + self.path.lstrip("/") if self.path else "")
