"""REST polling: a declarative connector that pages through an API into the inbox.

Usage:
    from connectors.transports.rest_poll import RestPollConfig, RestPollSource
    source = RestPollSource(partner_id="SHOP", config=RestPollConfig(base_url=..., path=...),
                            inbox=inbox, state=state)
    source.poll()
"""

from __future__ import annotations

from connectors.transports.rest_poll.auth import OAuth2ClientCredentialsFlow, build_auth
from connectors.transports.rest_poll.config import (
    ApiKeyAuth,
    BasicAuth,
    CursorPagination,
    IncrementalCursor,
    LinkHeaderPagination,
    NoPagination,
    OAuth2ClientCredentials,
    OffsetPagination,
    PageNumberPagination,
    RestPollConfig,
    RetrySettings,
)
from connectors.transports.rest_poll.http import RestClient, classify_response, parse_retry_after
from connectors.transports.rest_poll.paginators import PaginationLoop, make_paginator
from connectors.transports.rest_poll.source import RestPollSource

__all__ = [
    "ApiKeyAuth",
    "BasicAuth",
    "CursorPagination",
    "IncrementalCursor",
    "LinkHeaderPagination",
    "NoPagination",
    "OAuth2ClientCredentials",
    "OAuth2ClientCredentialsFlow",
    "OffsetPagination",
    "PageNumberPagination",
    "PaginationLoop",
    "RestClient",
    "RestPollConfig",
    "RestPollSource",
    "RetrySettings",
    "build_auth",
    "classify_response",
    "make_paginator",
    "parse_retry_after",
]
