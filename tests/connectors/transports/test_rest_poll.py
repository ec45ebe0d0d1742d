"""REST polling against a real HTTP server on 127.0.0.1, the hub's real inbox and state store."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from canonical.errors import PermanentError, RetryableError
from connectors.transports.rest_poll import (
    ApiKeyAuth,
    BasicAuth,
    CursorPagination,
    IncrementalCursor,
    LinkHeaderPagination,
    OAuth2ClientCredentials,
    OffsetPagination,
    PageNumberPagination,
    PaginationLoop,
    RestPollConfig,
    RestPollSource,
    RetrySettings,
    parse_retry_after,
)
from hub.inbox import BlobStore, DatabaseInbox
from hub.state import DatabaseStateStore
from hub.storage.db import Database
from hub.storage.tables import InboxEntry
from tests.support.services import sqlite_database


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    at: float


Reply = tuple[int, dict[str, str], Any]


@dataclass
class Api:
    """A tiny HTTP API: ``route(seen) -> (status, headers, json body)``; records every request."""

    route: Callable[[Seen], Reply]
    requests: list[Seen] = field(default_factory=list)
    url: str = ""

    def paths(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]


@pytest.fixture
def api() -> Iterator[Callable[[Callable[[Seen], Reply]], Api]]:
    servers: list[ThreadingHTTPServer] = []

    def start(route: Callable[[Seen], Reply]) -> Api:
        state = Api(route)

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                seen = Seen(self.command, parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()},
                            {k.lower(): v for k, v in self.headers.items()}, time.monotonic())
                state.requests.append(seen)
                status, headers, body = state.route(seen)
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                for k, v in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = _serve

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        state.url = f"http://127.0.0.1:{server.server_address[1]}"
        return state

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def hub(tmp_path: Path) -> tuple[DatabaseInbox, DatabaseStateStore, Database]:
    url = sqlite_database(tmp_path / "hub.db")
    db = Database(url)
    return DatabaseInbox(db, blobs=BlobStore(tmp_path / "blobs")), DatabaseStateStore(db), db


ORDERS = [{"id": f"SO-{i:03}", "updated_at": f"2026-11-23T10:{i:02}:00Z", "total": str(10 * i)} for i in range(1, 8)]
FAST = RetrySettings(max_attempts=3, backoff_seconds=0.01, backoff_max_seconds=0.05, max_retry_after_seconds=2)


def _stored_records(db: Database, path: str | None = "data.items") -> list[str]:
    with db.reader() as s:
        rows = s.scalars(select(InboxEntry).order_by(InboxEntry.id)).all()
        out: list[str] = []
        for row in rows:
            assert row.channel == "rest_poll" and row.raw is not None
            body: Any = json.loads(row.raw)
            for step in (path or "").split(".") if path else []:
                body = body[step]
            out += [r["id"] for r in body]
        return out


def _source(hub: tuple[Any, Any, Any], url: str, **config: Any) -> RestPollSource:
    inbox, state, _ = hub
    cfg = RestPollConfig(base_url=url, path="/api/orders", retry=FAST, **config)
    return RestPollSource(partner_id="SHOP", config=cfg, inbox=inbox, state=state)


# --------------------------------------------------------------------------- pagination


def _cursor_route(seen: Seen) -> Reply:
    start = int(seen.query.get("cursor", "0"))
    page = ORDERS[start:start + 3]
    nxt = str(start + 3) if start + 3 < len(ORDERS) else None
    return 200, {}, {"data": {"items": page}, "meta": {"next_cursor": nxt}}


def _offset_route(seen: Seen) -> Reply:
    off, lim = int(seen.query["offset"]), int(seen.query["limit"])
    return 200, {}, {"data": {"items": ORDERS[off:off + lim]}}


def _page_route(seen: Seen) -> Reply:
    page, size = int(seen.query["page"]), int(seen.query["per_page"])
    return 200, {}, {"data": {"items": ORDERS[(page - 1) * size:page * size]}}


def _link_route(seen: Seen) -> Reply:
    start = int(seen.query.get("from", "0"))
    headers = {"Link": f'</api/orders?from={start + 3}>; rel="next", </api/orders>; rel="first"'} \
        if start + 3 < len(ORDERS) else {}
    return 200, headers, {"data": {"items": ORDERS[start:start + 3]}}


STYLES = [
    ("cursor", _cursor_route, CursorPagination(next_path="meta.next_cursor")),
    ("offset", _offset_route, OffsetPagination(limit=3)),
    ("page", _page_route, PageNumberPagination(size=3)),
    ("link", _link_route, LinkHeaderPagination()),
]


@pytest.mark.parametrize(("style", "route", "pagination"), STYLES, ids=[s[0] for s in STYLES])
def test_pages_to_the_end_one_receipt_per_page(api, hub, style, route, pagination) -> None:
    server = api(route)
    source = _source(hub, server.url, pagination=pagination, records_path="data.items",
                     document_type="purchase_order")
    assert source.poll() == 3
    assert _stored_records(hub[2]) == [o["id"] for o in ORDERS]
    # polling again stores nothing new: the same pages are recognised by their bytes
    assert _source(hub, server.url, pagination=pagination, records_path="data.items").poll() == 0


def test_a_repeated_next_token_stops_with_a_clear_error(api, hub) -> None:
    tokens = iter(["a", "b", "a"])
    server = api(lambda seen: (200, {}, {"items": [ORDERS[0]], "next": next(tokens, None)}))
    source = _source(hub, server.url, pagination=CursorPagination(next_path="next"), records_path="items")
    with pytest.raises(PaginationLoop, match="'a' a second time"):
        source.poll()
    assert len(server.requests) == 3  # first page, "a", "b" — never "a" again


# ------------------------------------------------------------------- incremental cursor


def test_cursor_resumes_after_a_restart_and_then_asks_only_for_newer(api, hub) -> None:
    data = list(ORDERS)
    broken = {"page": "3"}

    def route(seen: Seen) -> Reply:
        since = seen.query.get("updated_since", "")
        if seen.query.get("cursor") == broken["page"]:
            return 500, {}, {"error": "backend down"}
        rows = [o for o in data if o["updated_at"] > since]
        start = int(seen.query.get("cursor", "0"))
        nxt = str(start + 3) if start + 3 < len(rows) else None
        return 200, {}, {"data": {"items": rows[start:start + 3]}, "next_cursor": nxt}

    server = api(route)
    cfg: dict[str, Any] = {"pagination": CursorPagination(), "records_path": "data.items",
                           "incremental": IncrementalCursor(field="updated_at", param="updated_since")}
    with pytest.raises(RetryableError):
        _source(hub, server.url, **cfg).poll()  # dies on the second page
    state = hub[1].get_state("rest_poll:SHOP:default")
    assert state == {"cursor": "2026-11-23T10:03:00Z", "since": None, "next": "3"}

    broken["page"] = "never"
    server.requests.clear()
    assert _source(hub, server.url, **cfg).poll() == 2  # a new instance: a restarted node
    assert server.requests[0].query == {"cursor": "3"}  # resumed at the page it had not stored
    assert _stored_records(hub[2]) == [o["id"] for o in ORDERS]

    data.append({"id": "SO-008", "updated_at": "2026-11-23T11:00:00Z", "total": "80"})
    server.requests.clear()
    assert _source(hub, server.url, **cfg).poll() == 1
    assert server.requests[0].query == {"updated_since": "2026-11-23T10:07:00Z"}
    assert _stored_records(hub[2])[-1] == "SO-008"


# ----------------------------------------------------------------- rate limits and errors


def test_429_retry_after_is_waited_for_then_retried(api, hub) -> None:
    calls = {"n": 0}

    def route(seen: Seen) -> Reply:
        calls["n"] += 1
        if calls["n"] == 1:
            return 429, {"Retry-After": "1"}, {"error": "slow down"}
        return 200, {}, ORDERS[:2]

    server = api(route)
    source = _source(hub, server.url)
    assert source.poll() == 1
    assert source.client.waits == [1.0]
    first, second = server.requests
    assert second.at - first.at >= 1.0


def test_retry_after_as_http_date_and_its_cap(api, hub) -> None:
    now = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
    assert parse_retry_after("Mon, 23 Nov 2026 18:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Mon, 23 Nov 2026 17:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    server = api(lambda seen: (503, {"Retry-After": "3600"}, {"error": "maintenance"}))
    with pytest.raises(RetryableError) as caught:
        _source(hub, server.url).poll()
    assert caught.value.retry_after == 3600 and len(server.requests) == 1  # not slept through


ERRORS = [
    (401, PermanentError, "rest_poll.unauthorized", 1),
    (403, PermanentError, "rest_poll.unauthorized", 1),
    (404, PermanentError, "rest_poll.client_error", 1),
    (422, PermanentError, "rest_poll.client_error", 1),
    (500, RetryableError, "rest_poll.unavailable", 3),
    (502, RetryableError, "rest_poll.unavailable", 3),
]


@pytest.mark.parametrize(("status", "error", "code", "attempts"), ERRORS)
def test_failures_are_classified(api, hub, status, error, code, attempts) -> None:
    server = api(lambda seen: (status, {}, {"error": "nope"}))
    with pytest.raises(error) as caught:
        _source(hub, server.url).poll()
    assert caught.value.code == code and caught.value.partner == "SHOP"
    assert caught.value.details["status"] == status and len(server.requests) == attempts


def test_connection_refused_is_retryable(hub) -> None:
    with pytest.raises(RetryableError) as caught:
        _source(hub, "http://127.0.0.1:9").poll()
    assert caught.value.details["reason"] == "connection"


def test_lease_keeps_a_second_node_out(api, hub) -> None:
    server = api(lambda seen: (200, {}, ORDERS))
    assert hub[1].try_lease("rest_poll:SHOP:default", "other-node", 60)
    assert _source(hub, server.url).poll() == 0 and server.requests == []
    hub[1].release_lease("rest_poll:SHOP:default", "other-node")
    assert _source(hub, server.url).poll() == 1


# ------------------------------------------------------------------------------- auth


def test_api_key_and_basic_auth_are_sent(api, hub) -> None:
    server = api(lambda seen: (200, {}, ORDERS[:1]))
    _source(hub, server.url, auth=ApiKeyAuth(name="X-API-Key", value="k-123")).poll()
    _source(hub, server.url, auth=ApiKeyAuth(name="key", value="k-456", location="query"),
            params={"status": "open"}).poll()
    _source(hub, server.url, auth=BasicAuth(username="crossdock", password="pw")).poll()
    header, query, basic = server.requests
    assert header.headers["x-api-key"] == "k-123"
    assert query.query == {"status": "open", "key": "k-456"}
    assert basic.headers["authorization"] == "Basic Y3Jvc3Nkb2NrOnB3"


def test_oauth2_token_is_cached_and_refreshed_on_401(api, hub) -> None:
    issued: list[str] = []
    valid: set[str] = set()

    def route(seen: Seen) -> Reply:
        if seen.path == "/oauth/token":
            assert seen.headers["authorization"] == "Basic Y2xpZW50OnNlY3JldA=="  # client:secret
            token = f"tok-{len(issued) + 1}"
            issued.append(token)
            valid.add(token)
            return 200, {}, {"access_token": token, "token_type": "Bearer", "expires_in": "3600"}
        if seen.headers.get("authorization", "").removeprefix("Bearer ") not in valid:
            return 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}, {"error": "invalid_token"}
        page = int(seen.query.get("page", "1"))
        return 200, {}, {"items": ORDERS[(page - 1) * 3:page * 3]}

    server = api(route)
    auth = OAuth2ClientCredentials(token_url=f"{server.url}/oauth/token", client_id="client",
                                   client_secret="secret")
    source = _source(hub, server.url, auth=auth, records_path="items", pagination=PageNumberPagination(size=3))
    assert source.poll() == 3
    assert issued == ["tok-1"]  # one token for all pages
    valid.clear()  # the issuer revokes it (or it expired early)
    source.state.put_state(source.key, {})  # poll the same pages again from the top
    server.requests.clear()
    source.poll()
    assert issued == ["tok-1", "tok-2"]
    api_calls = server.paths("/api/orders")
    assert api_calls[0].headers["authorization"] == "Bearer tok-1"  # refused with 401 ...
    assert api_calls[1].headers["authorization"] == "Bearer tok-2"  # ... and sent again, refreshed


def test_oauth2_token_is_fetched_again_once_expired(api, hub) -> None:
    issued: list[str] = []

    def route(seen: Seen) -> Reply:
        if seen.path == "/oauth/token":
            issued.append(f"tok-{len(issued) + 1}")
            return 200, {}, {"access_token": issued[-1], "expires_in": 30}
        return 200, {}, {"items": ORDERS[:1]}

    server = api(route)
    auth = OAuth2ClientCredentials(token_url=f"{server.url}/oauth/token", client_id="c", client_secret="s",
                                   client_auth="body", expiry_margin_seconds=30)  # expired at once
    source = _source(hub, server.url, auth=auth, records_path="items")
    source.poll()
    source.poll()
    assert issued == ["tok-1", "tok-2"]


def test_token_endpoint_refusal_is_permanent(api, hub) -> None:
    server = api(lambda seen: (401, {}, {"error": "invalid_client"}))
    auth = OAuth2ClientCredentials(token_url=f"{server.url}/oauth/token", client_id="c", client_secret="bad")
    with pytest.raises(PermanentError) as caught:
        _source(hub, server.url, auth=auth).poll()
    assert caught.value.code == "rest_poll.auth_refused"


def test_a_query_api_key_stays_out_of_receipts_and_errors(api, hub) -> None:
    answers = iter([(200, {}, ORDERS[:1]), (401, {}, {"error": "revoked"})])
    server = api(lambda seen: next(answers))
    auth = ApiKeyAuth(name="key", value="k-secret-789", location="query")
    _source(hub, server.url, auth=auth).poll()
    hub[1].put_state("rest_poll:SHOP:default", {})
    with pytest.raises(PermanentError) as caught:
        _source(hub, server.url, auth=auth).poll()
    assert "k-secret-789" not in json.dumps(caught.value.describe())
    with hub[2].reader() as s:
        (row,) = s.scalars(select(InboxEntry)).all()
        assert "k-secret-789" not in json.dumps(row.meta) and row.meta["url"].endswith("/api/orders")
