"""Distributed mode, PostgreSQL: a change parked for its original is never left waiting for good.

A revision (change) processed before its original is parked (job ``waiting``) and woken when
the original is accepted. Two workers, two processes: the original's transaction and the
change's park race, and the change's message may have been taken before its serve marked it
published. Both races once left the change (and every later revision of the order) stalled
for ``republish_after`` or for ever; these tests force each interleaving."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from connectors.base import Receipt
from hub.inbox import BlobStore, DatabaseInbox
from hub.ops import hooks
from hub.runtime.relay import Relay
from hub.storage.db import Database
from hub.storage.tables import Job, Partner
from tests.hub.test_reading_lock import _worker

pytestmark = [pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]


def _revisions(db: Database, tmp_path: Path, count: int) -> list[int]:
    """Receipts of one order's revisions 0..count-1 (no destination: no deliveries); their job ids."""
    with db.session() as s:
        s.add(Partner(id="ACME", name="Acme", role="customer", profile={}))
    template = json.loads((ROOT / "examples" / "purchase-order.json").read_text())
    inbox = DatabaseInbox(db, blobs=BlobStore(tmp_path / "blobs"))
    for rev in range(count):
        po = template | {"po_number": "WAKE-1", "revision": rev, "purpose": "new" if rev == 0 else "change"}
        inbox.store(Receipt(partner_id="ACME", channel="http", document_type="purchase_order"),
                    json.dumps(po).encode())
    with db.reader() as r:
        return list(r.scalars(select(Job.id).order_by(Job.inbox_id)))


def _job(db: Database, job_id: int) -> Job:
    with db.reader() as r:
        job = r.get(Job, job_id)
        assert job is not None
        r.expunge(job)
        return job


def test_a_change_parked_while_its_original_commits_is_woken(pg_db: Database, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Worker one accepts the original and looks for waiting changes (none yet) but has not
    committed; worker two parks the change meanwhile and looks for the original (not committed
    yet). Neither saw the other: the change was left ``waiting`` for ever."""
    original, change = _revisions(pg_db, tmp_path, 2)
    one, db_one = _worker(pg_db.url, tmp_path)
    two, db_two = _worker(pg_db.url, tmp_path)
    looked, commit = threading.Event(), threading.Event()
    real = hooks.after_accept

    def after_accept(s: Any, **kw: Any) -> None:
        real(s, **kw)  # the original's look for waiting changes, inside its transaction
        if threading.current_thread().name == "one":
            looked.set()
            assert commit.wait(10)

    monkeypatch.setattr(hooks, "after_accept", after_accept)
    outcome: dict[str, str] = {}
    first = threading.Thread(target=lambda: outcome.update(one=one.process(original)), name="one")
    second = threading.Thread(target=lambda: outcome.update(two=two.process(change)), name="two")
    try:
        first.start()
        assert looked.wait(10)  # the original is stored, its wake-up ran, the commit is still to come
        second.start()  # the change does not find the original (not committed): it is parked
        second.join(1.0)
        commit.set()
        first.join(20)
        second.join(20)
        assert outcome["one"] == "done"
        job = _job(pg_db, change)
        assert job.status == "queued", f"the change was left {job.status} (worker two said {outcome['two']})"
        assert job.ordering_key is not None  # it now waits for its original's jobs, by key
    finally:
        commit.set()
        db_one.dispose()
        db_two.dispose()


def test_a_change_woken_before_its_serve_marked_it_published_is_published_again(
        pg_db: Database, tmp_path: Path) -> None:
    """The serve publishes the original and the change; workers take both at once: the change is
    parked, the original accepted, the change woken, all before the serve's publisher marks the
    two published. The late mark must not hide the woken change from the relay (it waited for
    ``republish_after``, an hour by default)."""
    original, change = _revisions(pg_db, tmp_path, 2)
    worker, db_worker = _worker(pg_db.url, tmp_path)
    published: list[int] = []
    relay = Relay(pg_db, publish=lambda job_id, kind: published.append(job_id), republish_after=3600)
    try:
        assert worker.process(change) == "waiting"  # before the original: parked
        assert worker.process(original) == "done"  # accepted: the change is woken
        assert _job(pg_db, change).status == "queued"
        relay.mark_published([original, change])  # the serve's publisher, late
        assert relay.sweep() == 1 and published == [change]  # published again at once
        assert relay.sweep() == 0  # once
        assert worker.process(change) == "done"
    finally:
        db_worker.dispose()

