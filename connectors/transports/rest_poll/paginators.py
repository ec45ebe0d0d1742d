"""Tiny paginators with loop detection.

A paginator holds the token of the page to fetch next (``current``; None is the first
page), tells the client what to request for it, and ``advance``s from each response.
A token seen before means the API is sending us in a circle: :class:`PaginationLoop`.
Tokens are JSON values (str or int) so a poll can save one and resume from it.
"""

from __future__ import annotations

import abc
from typing import Any

import httpx

from canonical.errors import PermanentError
from connectors.transports.rest_poll.config import (
    CursorPagination,
    LinkHeaderPagination,
    NoPagination,
    OffsetPagination,
    PageNumberPagination,
    PaginationConfig,
)

__all__ = [
    "CursorPaginator",
    "LinkHeaderPaginator",
    "OffsetPaginator",
    "PageNumberPaginator",
    "PaginationLoop",
    "Paginator",
    "SinglePage",
    "dig",
    "make_paginator",
]

Token = str | int


class PaginationLoop(PermanentError):
    """The API named a page token it had already given: following it would never end."""

    code = "rest_poll.pagination_loop"


def dig(body: Any, path: str | None) -> Any:
    """``dig({"a": {"b": 1}}, "a.b") == 1``; a missing step gives None."""
    if not path:
        return body
    for step in path.split("."):
        if not isinstance(body, dict):
            return None
        body = body.get(step)
    return body


class Paginator(abc.ABC):
    """Base: ``request`` for the current token, ``advance`` from a response."""

    def __init__(self, start: Token | None = None) -> None:
        self.current: Token | None = start
        self.finished = False
        self._seen: set[Token] = set() if start is None else {start}

    def request(self, url: str, params: dict[str, str]) -> tuple[str, dict[str, str]]:
        """URL and query parameters for the page ``current`` names."""
        return url, params

    @abc.abstractmethod
    def next_token(self, response: httpx.Response, body: Any, records: list[Any]) -> Token | None:
        """The next page's token, or None when this was the last page."""

    def advance(self, response: httpx.Response, body: Any, records: list[Any]) -> None:
        new = self.next_token(response, body, records)
        if new is None or new == "":
            self.finished = True
            return
        if new in self._seen:
            raise PaginationLoop(
                f"the API sent the page token {new!r} a second time; stopping instead of looping",
                details={"token": new, "previous": self.current},
            )
        self._seen.add(new)
        self.current = new


class SinglePage(Paginator):
    def next_token(self, response: httpx.Response, body: Any, records: list[Any]) -> Token | None:
        return None


class CursorPaginator(Paginator):
    def __init__(self, config: CursorPagination, start: Token | None = None) -> None:
        super().__init__(start)
        self.config = config

    def request(self, url: str, params: dict[str, str]) -> tuple[str, dict[str, str]]:
        return url, params if self.current is None else {**params, self.config.param: str(self.current)}

    def next_token(self, response: httpx.Response, body: Any, records: list[Any]) -> Token | None:
        token = dig(body, self.config.next_path)
        return token if isinstance(token, str | int) and not isinstance(token, bool) else None


class OffsetPaginator(Paginator):
    def __init__(self, config: OffsetPagination, start: Token | None = None) -> None:
        super().__init__(start)
        self.config = config

    def request(self, url: str, params: dict[str, str]) -> tuple[str, dict[str, str]]:
        c = self.config
        return url, {**params, c.offset_param: str(self.current or 0), c.limit_param: str(c.limit)}

    def next_token(self, response: httpx.Response, body: Any, records: list[Any]) -> Token | None:
        offset = int(self.current or 0) + len(records)
        total = dig(body, self.config.total_path) if self.config.total_path else None
        if isinstance(total, int) and offset >= total:
            return None
        return offset if len(records) >= self.config.limit else None


class PageNumberPaginator(Paginator):
    def __init__(self, config: PageNumberPagination, start: Token | None = None) -> None:
        super().__init__(start)
        self.config = config

    def request(self, url: str, params: dict[str, str]) -> tuple[str, dict[str, str]]:
        c = self.config
        page = self.current if self.current is not None else c.first_page
        sized = {c.size_param: str(c.size)} if c.size_param else {}
        return url, {**params, c.page_param: str(page), **sized}

    def next_token(self, response: httpx.Response, body: Any, records: list[Any]) -> Token | None:
        c = self.config
        page = int(self.current if self.current is not None else c.first_page)
        total = dig(body, c.total_pages_path) if c.total_pages_path else None
        if isinstance(total, int):
            return page + 1 if page < total else None
        return page + 1 if records and (not c.size_param or len(records) >= c.size) else None


class LinkHeaderPaginator(Paginator):
    """Follows ``rel="next"`` URLs as given (they carry their own query)."""

    def request(self, url: str, params: dict[str, str]) -> tuple[str, dict[str, str]]:
        return (url, params) if self.current is None else (str(self.current), {})

    def next_token(self, response: httpx.Response, body: Any, records: list[Any]) -> Token | None:
        link = response.links.get("next")
        if not link or not link.get("url"):
            return None
        return str(response.url.join(link["url"]))  # relative references resolve per RFC 3986


def make_paginator(config: PaginationConfig, start: Token | None = None) -> Paginator:
    """The paginator for a config, positioned at ``start`` (a saved token) or the first page.

    Usage:
        paginator = make_paginator(CursorPagination(next_path="meta.next"), start=saved_token)
        url, params = paginator.request(config.url, {})
        paginator.advance(response, response.json(), records)   # PaginationLoop on a cycle
    """
    if isinstance(config, CursorPagination):
        return CursorPaginator(config, start)
    if isinstance(config, OffsetPagination):
        return OffsetPaginator(config, start)
    if isinstance(config, PageNumberPagination):
        return PageNumberPaginator(config, start)
    if isinstance(config, LinkHeaderPagination):
        return LinkHeaderPaginator(start)
    assert isinstance(config, NoPagination)
    return SinglePage(start)
