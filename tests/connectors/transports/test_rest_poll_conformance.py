"""REST polling passes the shared connector conformance suite against a real local HTTP API.

The API serves each offered payload as one JSON page through an incremental cursor
(``updated_since``, the page's ``seq``) and ``Link: rel="next"`` pagination, so the page
body is exactly the offered bytes. A page is pending while the saved cursor has not moved
past its ``seq`` (the next poll would fetch it again) and acknowledged once it has.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from connectors.base import Inbox
from connectors.transports.rest_poll import RestPollConfig, RestPollSource
from tests.connectors.conformance import Hub, SourceConformance, SourceHarness

API_KEY = "rk_live_conformance_7f3a91"


class PagedApi:
    """``GET /api/orders?updated_since=S[&after=A]``: the first page with ``seq`` above both."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.pages: dict[str, Path] = {}  # seq -> file holding the page as served
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.headers.get("X-API-Key") != API_KEY:
                    self._answer(401, b'{"error": "unauthorized"}')
                    return
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                floor = max(query.get("updated_since", ""), query.get("after", ""))
                with api.lock:
                    later = sorted(seq for seq in api.pages if seq > floor)
                if not later:
                    self._answer(200, b'{"orders": []}')
                    return
                headers = {}
                if len(later) > 1:
                    nxt = urlencode({"updated_since": query.get("updated_since", ""), "after": later[0]})
                    headers["Link"] = f'</api/orders?{nxt}>; rel="next"'
                page = api.pages[later[0]]
                self._answer(200, None, page, headers)

            def _answer(self, status: int, body: bytes | None, page: Path | None = None,
                        headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body) if body is not None else page.stat().st_size))  # type: ignore[union-attr]
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                if body is not None:
                    self.wfile.write(body)
                    return
                with page.open("rb") as fh:  # type: ignore[union-attr]
                    shutil.copyfileobj(fh, self.wfile, 1 << 16)  # streamed: the server's memory stays out of the test

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class RestPollHarness:
    """Payloads are JSON pages of the partner's order API; acknowledged = cursor saved past them."""

    config_model = RestPollConfig
    secrets: Sequence[str] = (API_KEY,)
    invalid_values: Sequence[tuple[str, Any]] = [
        ("timeout_seconds", 0), ("max_pages", 0), ("pagination", {"type": "scroll"}),
        ("auth", {"type": "api_key", "name": "X-API-Key"}), ("lease_seconds", -1),
    ]

    def __init__(self, api: PagedApi, hub: Hub) -> None:
        self.api, self.hub = api, hub
        self.seq_of: dict[str, str] = {}  # sha256 of a page -> its seq
        self.names: dict[str, str] = {}  # offered name -> seq

    def valid_config(self) -> dict[str, Any]:
        return {
            "base_url": self.api.url, "path": "/api/orders", "records_path": "orders",
            "auth": {"type": "api_key", "name": "X-API-Key", "value": API_KEY},
            "pagination": {"type": "link"}, "incremental": {"field": "seq", "param": "updated_since"},
            "document_type": "purchase_order", "timeout_seconds": 30,
            "retry": {"max_attempts": 2, "backoff_seconds": 0.01},
        }

    def _next_seq(self) -> str:
        return f"{len(self.seq_of) + 1:08d}"

    def make_payload(self, label: str) -> bytes:
        seq = self._next_seq()
        page = json.dumps({"orders": [{"seq": seq, "id": f"{label}-{seq}", "status": "confirmed"}]}).encode()
        self.seq_of[hashlib.sha256(page).hexdigest()] = seq
        return page

    def expected_stored(self, payload: bytes) -> bytes:
        return payload  # the page exactly as the API sent it

    def write_large_payload(self, path: Path, size: int) -> str:
        seq = self._next_seq()
        head = json.dumps({"orders": [{"seq": seq, "id": f"large-{seq}", "note": ""}]}).encode()
        cut = head.index(b'""') + 1
        pad = size - len(head)
        digest = hashlib.sha256()
        with path.open("wb") as fh:
            for part in (head[:cut], *[b"x" * min(1 << 20, pad - i) for i in range(0, pad, 1 << 20)], head[cut:]):
                digest.update(part)
                fh.write(part)
        self.seq_of[digest.hexdigest()] = seq
        return digest.hexdigest()

    def offer(self, name: str, payload: bytes | Path) -> None:
        if isinstance(payload, Path):
            digest = hashlib.sha256()
            with payload.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    digest.update(chunk)
            sha = digest.hexdigest()
        else:
            sha = hashlib.sha256(payload).hexdigest()
        seq = self.seq_of[sha]
        target = self.api.root / f"{seq}.json"
        if isinstance(payload, Path):
            shutil.copyfile(payload, target)
        else:
            target.write_bytes(payload)
        with self.api.lock:
            self.api.pages[seq] = target
        self.names[name] = seq

    def take(self, inbox: Inbox) -> None:
        source = RestPollSource(partner_id="ACME", config=RestPollConfig.model_validate(self.valid_config()),
                                inbox=inbox, state=self.hub.state, name="orders", node_id="conformance")
        try:
            source.poll()
        finally:
            source.close()

    def pending(self, name: str) -> bool:
        cursor = (self.hub.state.get_state("rest_poll:ACME:orders") or {}).get("cursor")
        return cursor is None or str(cursor) < self.names[name]


@pytest.fixture
def paged_api(tmp_path: Path) -> Iterator[PagedApi]:
    (tmp_path / "api").mkdir()
    api = PagedApi(tmp_path / "api")
    yield api
    api.close()


class TestRestPollConformance(SourceConformance):
    large_payload_bytes = 16 * 1024 * 1024  # one JSON page, read and parsed whole
    memory_budget_ratio = 3.5  # measured: 3.0 (body bytes, the decoded text, the parsed page)

    @pytest.fixture
    def harness(self, paged_api: PagedApi, hub: Hub) -> SourceHarness:
        return RestPollHarness(paged_api, hub)
