"""One pooled HTTP client per process for the hub's outbound calls (HTTP destinations, AS2 sends).

Building an ``httpx.Client`` loads the CA bundle (about 40 ms of CPU) and a new client opens a new
connection; one shared client, safe across the worker threads, does neither per document. Each
call passes its own timeout.

Usage:
    shared_client().post(url, content=body, timeout=10)
"""

from __future__ import annotations

import threading

import httpx

__all__ = ["shared_client"]

_client: httpx.Client | None = None
_lock = threading.Lock()


def shared_client() -> httpx.Client:
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                _client = httpx.Client(limits=httpx.Limits(max_connections=64, max_keepalive_connections=16))
    return _client
