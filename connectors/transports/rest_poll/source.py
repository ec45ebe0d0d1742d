"""``RestPollSource``: poll a REST endpoint page by page into the inbox.

One inbox receipt per *page*: the response bytes exactly as the API sent them (so an
engineer sees what arrived, and a replayed page is recognised by its sha256). Splitting a
page into records is the JSON codec's job, not the transport's. Pages without records
are not stored.

After each page is stored, the state (``rest_poll:<partner>:<name>``) is saved:
``cursor`` (greatest incremental value so far), ``since`` (the filter this run started
with) and ``next`` (the page token still to fetch, None once the run completed). A poll
that dies mid-run resumes at ``next`` with the same ``since``; a completed run's next poll
asks for records newer than ``cursor``. A lease on the same key keeps other nodes out.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any, ClassVar

import httpx

from canonical.errors import ParseError
from connectors.base import Connector, Inbox, Receipt, StateStore
from connectors.transports.rest_poll.config import RestPollConfig
from connectors.transports.rest_poll.http import RestClient, public_url
from connectors.transports.rest_poll.paginators import dig, make_paginator

__all__ = ["RestPollSource"]


class RestPollSource(Connector):
    """A declarative REST polling connector.

    Usage:
        source = RestPollSource(partner_id="SHOP", config=config, inbox=inbox, state=state)
        stored = source.poll()      # pages newly stored; 0 when another node holds the lease
    """

    kind: ClassVar[str] = "rest_poll"
    config_model: ClassVar[type[RestPollConfig]] = RestPollConfig
    config: RestPollConfig

    def __init__(
        self, *, partner_id: str, config: RestPollConfig, inbox: Inbox, state: StateStore,
        name: str = "default", node_id: str | None = None,
        transport: httpx.BaseTransport | None = None, sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(partner_id=partner_id, config=config, inbox=inbox)
        self.state = state
        self.key = f"rest_poll:{partner_id}:{name}"
        self.node_id = node_id or f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self.client = RestClient(
            auth=config.auth, retry=config.retry, partner_id=partner_id, headers=config.headers,
            timeout_seconds=config.timeout_seconds, transport=transport, sleep=sleep,
        )

    def poll(self) -> int:
        if not self.state.try_lease(self.key, self.node_id, self.config.lease_seconds):
            return 0
        try:
            return self._run()
        finally:
            self.state.release_lease(self.key, self.node_id)

    def close(self) -> None:
        self.client.close()

    def _run(self) -> int:
        cfg = self.config
        saved = self.state.get_state(self.key) or {}
        resuming = saved.get("next") is not None
        cursor = saved.get("cursor")
        since = saved.get("since") if resuming else (cursor or (cfg.incremental.initial if cfg.incremental else None))
        params = dict(cfg.params)
        if cfg.incremental and since is not None:
            params[cfg.incremental.param] = str(since)
        paginator = make_paginator(cfg.pagination, saved.get("next"))
        stored = 0
        for page in range(1, cfg.max_pages + 1):
            url, query = paginator.request(cfg.url, params)
            response = self.client.get(url, query)
            try:
                body, records = self._records(response)
            except ParseError:
                self._store(response, page, None)  # raw first: what arrived stays visible
                raise
            if records:
                stored += 0 if self._store(response, page, len(records)) else 1
            cursor = self._max_cursor(cursor, records)
            paginator.advance(response, body, records)
            self.state.put_state(self.key, {
                "cursor": cursor, "since": since,
                "next": None if paginator.finished else paginator.current,
            })
            if paginator.finished:
                break
            self.state.try_lease(self.key, self.node_id, cfg.lease_seconds)  # renew while working
        return stored

    def _store(self, response: httpx.Response, page: int, records: int | None) -> bool:
        """Store one page raw; True when the inbox had these bytes already."""
        receipt = Receipt(
            partner_id=self.partner_id, channel="rest_poll", document_type=self.config.document_type,
            content_type=response.headers.get("Content-Type"),
            meta={"url": public_url(response.url, self.client.redact), "page": page, "records": records},
        )
        return self.inbox.store(receipt, response.content).already_seen

    def _records(self, response: httpx.Response) -> tuple[Any, list[Any]]:
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            url = public_url(response.url, self.client.redact)
            raise ParseError(f"{url} did not answer JSON: {exc}", partner=self.partner_id,
                             details={"url": url}) from exc
        records = dig(body, self.config.records_path)
        if records is None:
            return body, []
        if not isinstance(records, list):
            raise ParseError(f"{self.config.records_path!r} in the response is not a list",
                             partner=self.partner_id, details={"url": public_url(response.url, self.client.redact)})
        return body, records

    def _max_cursor(self, cursor: Any, records: list[Any]) -> Any:
        if self.config.incremental is None:
            return cursor
        values = [str(v) for r in records if (v := dig(r, self.config.incremental.field)) is not None]
        best = max(values, default=None)
        return best if cursor is None or (best is not None and best > str(cursor)) else cursor
