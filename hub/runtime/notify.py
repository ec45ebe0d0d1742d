"""Waiting for a receipt's outcome: in-process events, with a database poll as the truth.

The inbound HTTP endpoint waits (up to ``CROSSDOCK_INBOUND_WAIT_SECONDS``) so a sender
gets the outcome in the answer; in distributed mode the event never fires locally and
the poll finds the outcome the worker wrote.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["Notifier"]

FINAL = ("processed", "duplicate", "failed", "case", "waiting")  # waiting: a revision held for its original


class Notifier:
    def __init__(self) -> None:
        self._waiters: dict[int, list[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
        self._lock = threading.Lock()

    def done(self, receipt_id: int) -> None:
        """Called by a worker thread after it committed a receipt's outcome."""
        with self._lock:
            waiters = self._waiters.pop(receipt_id, [])
        for loop, event in waiters:
            loop.call_soon_threadsafe(event.set)

    async def wait(self, receipt_id: int, timeout: float,
                   poll: Callable[[], Any], *, interval: float = 0.2) -> Any:
        """Return ``poll()``'s value once it is final (its ``status`` in FINAL) or at timeout."""
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        with self._lock:
            self._waiters.setdefault(receipt_id, []).append((loop, event))
        try:
            deadline = loop.time() + timeout
            while True:
                state = await asyncio.to_thread(poll)
                if state is None or getattr(state, "status", None) in FINAL:
                    return state
                left = deadline - loop.time()
                if left <= 0:
                    return state
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), min(interval * 5, left))
                event.clear()
        finally:
            with self._lock:
                waiters = self._waiters.get(receipt_id, [])
                if (loop, event) in waiters:
                    waiters.remove((loop, event))
                if not waiters:
                    self._waiters.pop(receipt_id, None)
