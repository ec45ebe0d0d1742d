"""Group commit on SQLite: receipts of concurrent requests share a transaction, a worker's jobs
share one for their outcomes; one bad unit never loses or doubles the others, and nothing is
answered before its commit."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select, text

from connectors.base import Receipt
from hub import inbox as inbox_module
from hub.inbox import BlobStore, DatabaseInbox
from hub.metrics import Metrics
from hub.runtime import processing
from hub.runtime.processing import Processor
from hub.settings import Settings
from hub.storage.db import Database
from hub.storage.tables import Attempt, Document, InboxEntry, Job, Partner
from tests.support.services import sqlite_database

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    database = Database(sqlite_database(tmp_path / "crossdock.db"))
    try:
        yield database
    finally:
        database.dispose()


def _order(n: int) -> bytes:
    template = json.loads((ROOT / "examples" / "purchase-order.json").read_text())
    return json.dumps(template | {"po_number": f"GC-{n:05d}"}).encode()


def _receipt(partner: str = "ACME") -> Receipt:
    return Receipt(partner_id=partner, channel="http", document_type="purchase_order")


# ------------------------------------------------------------------------------- Database.batch
def _partner(pid: str) -> Partner:
    return Partner(id=pid, name=pid, role="customer", profile={})


def test_a_batch_commits_once_and_each_unit_rolls_back_alone(sqlite_db: Database) -> None:
    with sqlite_db.batch():
        with sqlite_db.session() as s:
            s.add(_partner("A"))
        with pytest.raises(Exception), sqlite_db.session() as s:  # noqa: B017  # a unit that fails
            s.add(_partner("B"))
            s.flush()
            s.execute(text("insert into partners (id) values ('A')"))  # a broken statement: B goes with it
        with sqlite_db.session() as s:  # a unit that rolls itself back
            s.add(_partner("C"))
            s.flush()
            s.rollback()
        with sqlite_db.reader() as r:  # reads inside the batch see its writes
            assert r.scalars(select(Partner.id)).all() == ["A"]
        with sqlite_db.read_connection() as c:
            assert c.scalar(text("select count(*) from partners")) == 1
        # not durable yet: another connection does not see it
        with sqlite_db.read_engine.connect() as other:
            assert other.scalar(text("select count(*) from partners")) == 0
    with sqlite_db.reader() as r:
        assert r.scalars(select(Partner.id)).all() == ["A"]
    with pytest.raises(RuntimeError), sqlite_db.batch():  # an exception out of the batch undoes all of it
        with sqlite_db.session() as s:
            s.execute(text("delete from partners"))
        raise RuntimeError("boom")
    with sqlite_db.session() as s:  # and the write turn is free again
        assert s.scalar(select(func.count()).select_from(Partner)) == 1


# ------------------------------------------------------------------------------- intake
def test_concurrent_receipts_share_a_commit_and_each_gets_its_own_answer(sqlite_db: Database,
                                                                         tmp_path: Path) -> None:
    queued: list[int] = []
    inbox = DatabaseInbox(sqlite_db, blobs=BlobStore(tmp_path / "blobs"), on_stored=queued.append)

    async def send() -> list[Any]:
        bodies = [_order(i) for i in range(20)] + [_order(0)]  # the last is a replay of the first
        return await asyncio.gather(*(inbox.store_async(_receipt(), body) for body in bodies))

    stored = asyncio.run(send())
    ids = [s.receipt_id for s in stored]
    assert len(set(ids)) == 21
    assert stored[-1].duplicate_of == stored[0].receipt_id and not any(s.already_seen for s in stored[:-1])
    with sqlite_db.reader() as s:
        assert s.scalar(select(func.count()).select_from(InboxEntry)) == 21
        jobs = s.scalars(select(Job.id).order_by(Job.id)).all()
        assert len(jobs) == 20 and sorted(queued) == list(jobs)  # the replay queues nothing


def test_one_bad_receipt_in_a_group_fails_alone(sqlite_db: Database, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    inbox = DatabaseInbox(sqlite_db, blobs=BlobStore(tmp_path / "blobs"))
    real = inbox_module._entry_row

    def entry_row(receipt: Receipt, *rest: Any) -> Any:  # the group's statements, and BAD's own, fail
        if receipt.partner_id == "BAD":
            raise RuntimeError("disk says no")
        return real(receipt, *rest)

    monkeypatch.setattr(inbox_module, "_entry_row", entry_row)
    gate = threading.Event()

    async def send() -> list[Any]:
        # hold the write turn so that every receipt waits and they form one group
        hold = threading.Thread(target=_hold_write_turn, args=(sqlite_db, gate))
        hold.start()
        await asyncio.sleep(0.2)
        tasks = [asyncio.ensure_future(inbox.store_async(_receipt("BAD" if i == 3 else "ACME"), _order(i)))
                 for i in range(8)]
        await asyncio.sleep(0.2)
        assert not any(t.done() for t in tasks)  # nothing is answered before its commit
        gate.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        hold.join()
        return results

    results = asyncio.run(send())
    assert isinstance(results[3], RuntimeError)
    good = [r for i, r in enumerate(results) if i != 3]
    assert all(not isinstance(r, BaseException) for r in good)
    with sqlite_db.reader() as s:
        rows = s.execute(select(InboxEntry.id, InboxEntry.partner_id)).all()
        assert sorted(r.id for r in rows) == sorted(r.receipt_id for r in good)  # each once, BAD not at all
        assert s.scalar(select(func.count()).select_from(Job)) == 7


def test_a_failed_commit_answers_no_receipt(sqlite_db: Database, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    inbox = DatabaseInbox(sqlite_db, blobs=BlobStore(tmp_path / "blobs"))

    def broken(*_: Any, **__: Any) -> Any:
        raise OSError("the process dies before COMMIT")

    monkeypatch.setattr(DatabaseInbox, "_record_group", broken)
    monkeypatch.setattr(DatabaseInbox, "_record", broken)

    async def send() -> list[Any]:
        return await asyncio.gather(*(inbox.store_async(_receipt(), _order(i)) for i in range(5)),
                                    return_exceptions=True)

    assert all(isinstance(r, OSError) for r in asyncio.run(send()))
    with sqlite_db.reader() as s:
        assert s.scalar(select(func.count()).select_from(InboxEntry)) == 0


def _hold_write_turn(db: Database, gate: threading.Event) -> None:
    with db.session() as s:
        s.execute(text("update jobs set status = status where 0"))
        gate.wait(10)


# ------------------------------------------------------------------------------- processing
def _processor(db: Database, tmp_path: Path) -> tuple[Processor, list[int]]:
    notified: list[int] = []
    settings = Settings(data_dir=tmp_path, database_url=db.url)
    processor = Processor(db, settings, blobs=BlobStore(tmp_path / "blobs"), metrics=Metrics(db),
                          notify=notified.append)
    with db.session() as s:
        s.add(Partner(id="ACME", name="Acme", role="customer", profile={}))
    return processor, notified


def _jobs(db: Database, tmp_path: Path, n: int) -> list[int]:
    inbox = DatabaseInbox(db, blobs=BlobStore(tmp_path / "blobs"))
    stored = [inbox.store(_receipt(), _order(i)) for i in range(n)]
    with db.reader() as s:
        return list(s.scalars(select(Job.id).where(Job.inbox_id.in_([x.receipt_id for x in stored]))
                              .order_by(Job.id)))


def test_a_batch_of_jobs_is_processed_once_each(sqlite_db: Database, tmp_path: Path) -> None:
    processor, notified = _processor(sqlite_db, tmp_path)
    jobs = _jobs(sqlite_db, tmp_path, 6)
    assert processor.process_many(jobs) == ["done"] * 6
    assert processor.process_many(jobs) == ["skipped"] * 6  # done already: nothing twice
    with sqlite_db.reader() as s:
        assert s.scalar(select(func.count()).select_from(Document)) == 6
        assert s.scalar(select(func.count()).select_from(Attempt)) == 6
        assert set(s.scalars(select(InboxEntry.status))) == {"processed"}
    assert len(notified) == 6


def test_a_job_that_crashes_in_a_batch_loses_and_doubles_nothing(sqlite_db: Database, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    processor, notified = _processor(sqlite_db, tmp_path)
    jobs = _jobs(sqlite_db, tmp_path, 5)
    bad = jobs[2]
    real = Processor._persist
    calls: list[int] = []

    def persist(self: Processor, snap: Any, outcome: Any, duration_ms: int) -> str:
        calls.append(snap.job_id)
        if snap.job_id == bad:
            raise RuntimeError("worker bug")
        return real(self, snap, outcome, duration_ms)

    monkeypatch.setattr(Processor, "_persist", persist)
    # one batch whatever the machine's load (a slow job must not close the batch before the crash)
    monkeypatch.setattr(processing, "BATCH_SECONDS", 60.0)
    statuses = processor.process_many(jobs)
    assert statuses == ["done", "done", "crashed", "done", "done"]
    with sqlite_db.reader() as s:
        assert s.scalar(select(func.count()).select_from(Document)) == 4
        attempts = s.execute(select(Attempt.job_id, func.count()).group_by(Attempt.job_id)).all()
        assert dict(attempts) == {j: 1 for j in jobs if j != bad}  # one attempt each, none for the crash
        job = s.get(Job, bad)
        assert job is not None and job.status == "queued" and job.attempts == 0  # open: the sweep brings it back
    # the batch was rolled back whole and each job ran again on its own: the first two twice, never committed twice
    assert calls[:3] == jobs[:3] and sorted(calls[3:]) == sorted(jobs)
    assert sorted(notified) == sorted(notified_ids(sqlite_db, [j for j in jobs if j != bad]))


def notified_ids(db: Database, jobs: list[int]) -> list[int]:
    with db.reader() as s:
        return list(s.scalars(select(Job.inbox_id).where(Job.id.in_(jobs))))


def test_a_batch_sees_what_the_jobs_before_it_wrote(sqlite_db: Database, tmp_path: Path) -> None:
    """Two receipts of the very same order in one batch: the second finds the first's document
    (as one commit later), it does not store it twice."""
    processor, _ = _processor(sqlite_db, tmp_path)
    inbox = DatabaseInbox(sqlite_db, blobs=BlobStore(tmp_path / "blobs"))
    body = json.loads(_order(1))
    first = inbox.store(_receipt(), json.dumps(body).encode())
    second = inbox.store(_receipt(), json.dumps(body, indent=1).encode())  # other bytes, same order
    with sqlite_db.reader() as s:
        jobs = list(s.scalars(select(Job.id).order_by(Job.id)))
    processor.process_many(jobs)
    with sqlite_db.reader() as s:
        assert s.scalar(select(func.count()).select_from(Document)) == 1
        assert s.get(InboxEntry, first.receipt_id).status == "processed"  # type: ignore[union-attr]
        assert s.get(InboxEntry, second.receipt_id).status == "duplicate"  # type: ignore[union-attr]


# ------------------------------------------------------------------ a partner's EDI, in order
_GOLDEN_850 = (ROOT / "tests" / "mappings" / "golden" / "x12_850_004010.edi").read_text()


def _interchange(n: int) -> bytes:
    return (_GOLDEN_850.replace("*000000001*0*T*", f"*{n:09d}*0*T*")
            .replace("IEA*1*000000001", f"IEA*1*{n:09d}").replace("PO-4711", f"PO-G{n:04d}")).encode()


def test_a_later_interchange_of_a_paused_partner_goes_back_without_spinning(
        sqlite_db: Database, tmp_path: Path) -> None:
    """The earlier interchange cannot be read (its partner is paused): the later one is put back
    for the sweep at once, instead of taking the earlier one again and again."""
    processor, _ = _processor(sqlite_db, tmp_path)
    inbox = DatabaseInbox(sqlite_db, blobs=BlobStore(tmp_path / "blobs"))
    first, second = (inbox.store(_receipt(), _interchange(n)) for n in (1, 2))
    with sqlite_db.session() as s:
        s.get(Partner, "ACME").paused = True  # type: ignore[union-attr]
        later = s.scalar(select(Job.id).where(Job.inbox_id == second.receipt_id))
    outcome: list[str] = []
    worker = threading.Thread(target=lambda: outcome.append(processor.process(later)), daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "the worker kept taking the paused partner's earlier interchange"
    assert outcome == ["skipped"]
    with sqlite_db.reader() as r:  # nothing was read: both wait for the resume
        assert r.scalars(select(Job.attempts).order_by(Job.id)).all() == [0, 0]
        assert r.scalar(select(func.count()).select_from(Document)) == 0
    assert first.receipt_id < second.receipt_id


def test_a_later_interchange_reads_the_earlier_one_first(sqlite_db: Database, tmp_path: Path) -> None:
    """Taken out of order by a worker, the partner's interchanges are still read in arrival order."""
    processor, notified = _processor(sqlite_db, tmp_path)
    inbox = DatabaseInbox(sqlite_db, blobs=BlobStore(tmp_path / "blobs"))
    stored = [inbox.store(_receipt(), _interchange(n)) for n in (1, 2, 3)]
    with sqlite_db.reader() as r:
        last = r.scalar(select(Job.id).where(Job.inbox_id == stored[-1].receipt_id))
    assert processor.process(last) == "done"
    with sqlite_db.reader() as r:
        finished = r.execute(select(Job.inbox_id, Job.finished_at).order_by(Job.finished_at)).all()
    assert [inbox_id for inbox_id, _ in finished] == [s.receipt_id for s in stored]
    assert sorted(notified) == [s.receipt_id for s in stored]


def test_a_burst_split_over_two_threads_is_read_in_order_and_in_group_commits(
        sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One partner's interchanges taken by two threads: the second thread's wait for earlier ones
    the first thread holds; they are handed to the first thread, which reads them in its next
    batch (a few commits), instead of one transaction each after waiting."""
    processor, notified = _processor(sqlite_db, tmp_path)
    inbox = DatabaseInbox(sqlite_db, blobs=BlobStore(tmp_path / "blobs"))
    stored = [inbox.store(_receipt(), _interchange(n)) for n in range(1, 33)]
    with sqlite_db.reader() as r:
        jobs = list(r.scalars(select(Job.id).order_by(Job.inbox_id)))
    monkeypatch.setattr(processing, "BATCH_SECONDS", 60.0)  # batches end with their jobs, whatever the load
    real = Processor._batch
    second_done = threading.Event()

    def batch(self: Processor, job_ids: list[int], *rest: Any) -> int:
        if threading.current_thread() is first and not second_done.is_set():
            done = real(self, job_ids[:8], *rest)  # the first thread's first batch: 8 of its 16
            second.start()  # meanwhile the second thread takes the next 16: they wait for the first's 9th ...
            second_done.wait(10)
            return done
        return real(self, job_ids, *rest)

    monkeypatch.setattr(Processor, "_batch", batch)
    commits: list[int] = []
    event.listen(sqlite_db.engine, "commit", lambda conn: commits.append(1))
    first = threading.Thread(target=processor.process_many, args=(jobs[:16],))
    second = threading.Thread(target=lambda: (processor.process_many(jobs[16:]), second_done.set()))
    first.start()
    first.join(30)
    second.join(30)
    assert not first.is_alive() and not second.is_alive()
    with sqlite_db.reader() as r:
        finished = r.execute(select(Job.inbox_id, Job.attempts, Job.status).order_by(Job.finished_at, Job.id)).all()
        assert r.scalar(select(func.count()).select_from(Document)) == 32
    assert [inbox_id for inbox_id, _, _ in finished] == [s.receipt_id for s in stored]  # in arrival order
    assert {(attempts, status) for _, attempts, status in finished} == {(1, "done")}  # each read once
    assert len(commits) <= 4, f"{len(commits)} commits for 32 interchanges"  # not one per interchange
    assert sorted(notified) == [s.receipt_id for s in stored]
    assert not processor._taken and not processor._handoff and not processor._batching
