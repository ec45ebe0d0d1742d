"""Distributed mode, PostgreSQL: two workers (processes) never read one interchange at once.

A partner's interchanges are read in order, so a worker whose job is the partner's next
interchange may read the earlier one itself; the worker that earlier one was published to
may be reading it at that moment. Each read holds a PostgreSQL advisory lock: the second
worker leaves the interchange to the first, or waits for it, instead of reading it again."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from connectors.base import Receipt
from hub.inbox import BlobStore, DatabaseInbox
from hub.metrics import Metrics
from hub.runtime import processing
from hub.runtime.processing import Processor
from hub.settings import Settings
from hub.storage.db import Database
from hub.storage.edi_tables import EdiReceived
from hub.storage.tables import Job, Partner
from tests.hub.test_group_commit import _interchange


def _worker(url: str, tmp_path: Path) -> tuple[Processor, Database]:
    """A worker process's processor: its own engine, so its own connections and locks."""
    db = Database(url)
    settings = Settings(data_dir=tmp_path, database_url=url, mode="distributed")
    return Processor(db, settings, blobs=BlobStore(tmp_path / "blobs"), metrics=Metrics(db)), db


def test_a_second_worker_leaves_an_interchange_another_is_reading(pg_db: Database, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    with pg_db.session() as s:
        s.add(Partner(id="ACME", name="Acme", role="customer", profile={}))
    inbox = DatabaseInbox(pg_db, blobs=BlobStore(tmp_path / "blobs"))
    stored = [inbox.store(Receipt(partner_id="ACME", channel="http"), _interchange(n)) for n in (1, 2)]
    with pg_db.reader() as r:
        first, second = r.scalars(select(Job.id).order_by(Job.inbox_id)).all()
    one, db_one = _worker(pg_db.url, tmp_path)
    two, db_two = _worker(pg_db.url, tmp_path)
    reading, finish = threading.Event(), threading.Event()
    reads: list[tuple[str, int]] = []
    real = processing.run_stages

    def stages(stage_list: Any, message: Any, ctx: Any, **kw: Any) -> Any:
        who = "one" if ctx is one.context else "two"
        reads.append((who, message.receipt_id))
        if who == "one":
            reading.set()
            assert finish.wait(10)
        return real(stage_list, message, ctx, **kw)

    monkeypatch.setattr(processing, "run_stages", stages)
    try:
        outcome: list[str] = []
        worker = threading.Thread(target=lambda: outcome.append(one.process(first)))
        worker.start()
        assert reading.wait(10)  # worker one is reading the first interchange
        # the same message delivered to worker two (a redelivery): it leaves it to worker one
        assert two.process(first) == "skipped"
        # worker two's own job, the second interchange: it waits for worker one's read of the
        # first, then reads the second
        helper = threading.Thread(target=lambda: outcome.append(two.process(second)))
        helper.start()
        helper.join(0.5)
        assert helper.is_alive()  # waiting, not reading the first again
        finish.set()
        worker.join(20)
        helper.join(20)
        assert sorted(outcome) == ["done", "done"]
        assert reads == [("one", stored[0].receipt_id), ("two", stored[1].receipt_id)]  # each read once
        with pg_db.reader() as r:
            assert r.scalar(select(func.count()).select_from(EdiReceived)) == 2
            assert set(r.scalars(select(Job.attempts))) == {1}
    finally:
        finish.set()
        db_one.dispose()
        db_two.dispose()
