"""What the periodic passes read of each document's canonical JSON, decoded once per document.

The SLA timers (every few seconds) and the intelligence passes (every minute) read the
documents of weeks on every pass, but of each only a few fields (its po number, seller,
shipment id ...). A document's canonical JSON does not change once stored (its status does,
and the passes read it every time), so a :class:`CanonicalFacts` kept between passes decodes
each document once: a pass reads the ids (and plain columns) of its window and hands them in,
and only documents it has not seen yet are read with their JSON.

Usage:
    facts = CanonicalFacts(lambda document_type, canonical: (canonical.get("po_number"),))
    by_id = facts.get(session, ids)      # id -> what the function returned for that document
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import select

from hub.storage.tables import Document

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["CanonicalFacts"]

_CHUNK = 500
T = TypeVar("T")


class CanonicalFacts(Generic[T]):
    """Facts per document id, from ``extract(document_type, canonical)``, read incrementally.

    Entries that no call asked for in the last ``keep_calls`` calls are dropped: callers with
    windows of different widths share one cache, which keeps the widest window they read."""

    def __init__(self, extract: Callable[[str, Mapping[str, Any]], T], *, keep_calls: int = 4) -> None:
        self._extract = extract
        self._known: dict[int, tuple[int, T]] = {}  # id -> (last call that used it, facts)
        self._calls = 0
        self._keep = keep_calls
        self._lock = threading.Lock()  # a cache may be shared by passes on different threads
        self.decoded = 0  # documents decoded so far (tests, benchmarks)

    def get(self, s: Session, ids: list[int]) -> dict[int, T]:
        """The facts of each document in ``ids``, decoding only those not read before."""
        with self._lock:
            self._calls += 1
            call = self._calls
            new = [i for i in ids if i not in self._known]
            for at in range(0, len(new), _CHUNK):
                for doc_id, kind, canonical in s.execute(select(Document.id, Document.document_type,
                                                                Document.canonical)
                                                         .where(Document.id.in_(new[at:at + _CHUNK]))):
                    self._known[doc_id] = (call, self._extract(kind, canonical))
                    self.decoded += 1
            out = {}
            for i in ids:
                facts = self._known[i][1]
                self._known[i] = (call, facts)
                out[i] = facts
            if call % self._keep == 0:
                self._known = {i: e for i, e in self._known.items() if e[0] > call - self._keep}
            return out

    def __len__(self) -> int:
        return len(self._known)
