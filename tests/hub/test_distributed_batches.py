"""Distributed mode: a burst of new ingest jobs travels CROSSDOCK_JOB_BATCH to a broker message,
and a worker runs a message's jobs in one PostgreSQL transaction, exactly as if each had
committed on its own; a job that fails inside it fails alone and is handed out again."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from connectors.base import Receipt
from hub.inbox import BlobStore, DatabaseInbox
from hub.metrics import Metrics
from hub.runtime import processing
from hub.runtime.distributed import DistributedRuntime, queue_names
from hub.runtime.processing import Processor
from hub.scheduler import Scheduler
from hub.settings import Settings
from hub.storage.db import Database
from hub.storage.edi_tables import EdiReceived
from hub.storage.tables import Document, Job, Partner
from tests.hub.test_group_commit import _interchange
from tests.support.cluster import BROKER_URL, broker_available
from tests.support.services import require_service

PO = json.loads((Path(__file__).resolve().parents[2] / "examples" / "purchase-order.json").read_text())


def _runtime(db: Database, tmp_path: Path, **settings: Any) -> DistributedRuntime:
    s = Settings(data_dir=tmp_path, database_url=db.url, mode="distributed", broker_url=BROKER_URL,
                 queue_prefix=f"cdk-t-{uuid.uuid4().hex[:8]}", **settings)
    processor = Processor(db, s, blobs=BlobStore(tmp_path / "blobs"), metrics=Metrics(db))
    return DistributedRuntime(db, processor, Scheduler(), settings=s)


def _store(runtime: DistributedRuntime, db: Database, tmp_path: Path) -> list[int]:
    """Four interchanges from ACME (read in order) and three JSON orders from GLOBEX: their job ids.
    (One order of each kind from INITECH goes first, alone: the maps are loaded before the batch.)"""
    with db.session() as s:
        for partner in ("ACME", "GLOBEX", "INITECH"):
            s.add(Partner(id=partner, name=partner.title(), role="customer", profile={}))
    inbox = DatabaseInbox(db, blobs=BlobStore(tmp_path / "blobs"))
    warm = [inbox.store(Receipt(partner_id="INITECH", channel="http"), _interchange(9)),
            inbox.store(Receipt(partner_id="INITECH", channel="http", document_type="purchase_order"),
                        json.dumps(PO | {"po_number": "W-1"}).encode())]
    with db.reader() as r:
        for receipt in warm:
            runtime._run(r.scalar(select(Job.id).where(Job.inbox_id == receipt.receipt_id)))
    for n in range(1, 5):
        inbox.store(Receipt(partner_id="ACME", channel="http"), _interchange(n))
    for n in range(3):
        inbox.store(Receipt(partner_id="GLOBEX", channel="http", document_type="purchase_order"),
                    json.dumps(PO | {"po_number": f"B-{n}"}).encode())
    with db.reader() as r:
        return list(r.scalars(select(Job.id).where(Job.partner_id != "INITECH").order_by(Job.id)))


def test_a_workers_message_of_several_jobs_is_one_transaction(pg_db: Database, tmp_path: Path) -> None:
    runtime = _runtime(pg_db, tmp_path)
    jobs = _store(runtime, pg_db, tmp_path)
    commits: list[int] = []
    event.listen(pg_db.engine, "commit", lambda conn: commits.append(1))
    runtime._run(*jobs)  # the Celery task's body, as a worker runs one message
    assert len(commits) == 1  # each job alone: a commit per job and more
    with pg_db.reader() as r:
        assert r.scalars(select(Job.status).where(Job.id.in_(jobs)).order_by(Job.id)).all() == ["done"] * len(jobs)
        assert set(r.scalars(select(Job.attempts).where(Job.id.in_(jobs)))) == {1}
        assert r.scalar(select(func.count()).select_from(Document)) == 2 + 4 + 3
        received = r.execute(select(EdiReceived.interchange_control, EdiReceived.status)
                             .where(EdiReceived.interchange_control != "000000009")
                             .order_by(EdiReceived.id)).all()
    # ACME's interchanges read in the order they came, each once, each acknowledged
    assert [(int(row.interchange_control), row.status) for row in received] == [
        (n, "accepted") for n in (1, 2, 3, 4)]
    runtime._run(*jobs)  # the same message delivered again (a worker died before its ack): nothing twice
    with pg_db.reader() as r:
        assert r.scalar(select(func.count()).select_from(Document)) == 2 + 4 + 3
        assert set(r.scalars(select(Job.attempts).where(Job.id.in_(jobs)))) == {1}


def test_a_job_that_crashes_in_a_batch_fails_alone_and_is_handed_out_again(
        pg_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = _runtime(pg_db, tmp_path)
    jobs = _store(runtime, pg_db, tmp_path)
    with pg_db.session() as s:  # as the serve marks what it published
        runtime.relay.mark(s, jobs)
    with pg_db.reader() as r:
        bad_inbox = r.scalar(select(Job.inbox_id).where(Job.id == jobs[5]))
    real = processing.record_edi

    def record(s: Any, *, inbox_id: int | None, **kw: Any) -> None:
        if inbox_id == bad_inbox:
            raise RuntimeError("disk full")  # not a classified failure: the job crashes
        real(s, inbox_id=inbox_id, **kw)

    monkeypatch.setattr(processing, "record_edi", record)
    assert runtime._run(*jobs) == "released"
    with pg_db.reader() as r:
        rows = r.execute(select(Job.id, Job.status, Job.attempts, Job.published_at).where(Job.id.in_(jobs)).order_by(Job.id)).all()
    # the batch was rolled back whole and each job ran again on its own: only the bad one is open,
    # unmarked, so the relay's next sweep publishes it again
    assert [(row.status, row.attempts) for row in rows] == [("done", 1)] * 5 + [("queued", 0)] + [("done", 1)]
    assert rows[5].published_at is None and all(row.published_at is not None for row in rows if row.id != jobs[5])
    with pg_db.reader() as r:
        assert r.scalar(select(func.count()).select_from(Document)) == 2 + 4 + 2


@pytest.mark.rabbitmq
def test_a_burst_goes_to_the_broker_job_batch_ids_a_message(pg_db: Database, tmp_path: Path) -> None:
    if (why := broker_available()) is not None:
        require_service("RabbitMQ", why)
    runtime = _runtime(pg_db, tmp_path, job_batch=20)
    queue = queue_names(runtime.settings.queue_prefix)["ingest"]
    runtime.start()
    try:
        with runtime._publish_lock:  # the broker is slow to confirm: a burst piles up behind it
            for job_id in range(1, 46):
                runtime.submit(job_id)
        runtime.stop()
        messages: list[list[int]] = []
        with runtime.celery.connection_for_read() as conn:
            channel = conn.default_channel
            while (message := channel.basic_get(queue, no_ack=True)) is not None:
                args, _kwargs, _embed = json.loads(message.body)
                messages.append(list(args))
            channel.queue_delete(queue)
            channel.queue_delete(queue_names(runtime.settings.queue_prefix)["deliver"])
    finally:
        runtime.stop()
    assert [job_id for ids in messages for job_id in ids] == list(range(1, 46))  # each once, in order
    assert all(1 <= len(ids) <= 20 for ids in messages)
    assert len(messages) <= 4  # 45 messages of one job each before
