"""The relay's rules on a real PostgreSQL, without a broker: what is due, in which order, and the key gate."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from hub.runtime.relay import HANDED_BACK, INGEST_GRACE_SECONDS, Relay, hand_back
from hub.storage.db import Database
from hub.storage.tables import InboxEntry, Job, Partner, utcnow
from tests.support.services import postgres_database

pytestmark = [pytest.mark.postgres]

@pytest.fixture
def db() -> Iterator[Database]:
    with postgres_database() as url:
        database = Database(url)
        yield database
        database.dispose()


def _receipt(db: Database, partner: str = "ACME") -> int:
    with db.session() as s:
        entry = InboxEntry(partner_id=partner, channel="http", sha256="0" * 64, size=1, raw=b"x")
        s.add(entry)
        s.flush()
        return entry.id


def _job(db: Database, **values: object) -> int:
    with db.session() as s:
        job = Job(**values)
        s.add(job)
        s.flush()
        return job.id


def _finish(db: Database, job_id: int, status: str = "done") -> None:
    with db.session() as s:
        s.get(Job, job_id).status = status  # type: ignore[union-attr]


def test_relay_publishes_by_key_one_at_a_time_and_never_holds_other_keys(db: Database) -> None:
    published: list[int] = []
    relay = Relay(db, publish=lambda job_id, kind: published.append(job_id), republish_after=3600)
    old = utcnow() - timedelta(seconds=INGEST_GRACE_SECONDS + 5)
    r1, r2, r3 = _receipt(db), _receipt(db), _receipt(db)
    # the later receipt's document committed first (parsed out of order): key order is by receipt
    a_late = _job(db, kind="deliver", inbox_id=r2, partner_id="ACME", ordering_key="ACME/PO-1")
    a_early = _job(db, kind="deliver", inbox_id=r1, partner_id="ACME", ordering_key="ACME/PO-1")
    b = _job(db, kind="deliver", inbox_id=r2, partner_id="ACME", ordering_key="ACME/PO-2")
    fresh_ingest = _job(db, kind="ingest", inbox_id=r3, partner_id="ACME")  # its serve publishes it
    lost_ingest = _job(db, kind="ingest", inbox_id=_receipt(db, "GLOBEX"), partner_id="GLOBEX", created_at=old)

    assert relay.sweep() == 3
    assert published == [a_early, b, lost_ingest]  # the crash-orphaned ingest job too; not the fresh one
    assert relay.sweep() == 0  # a_late waits for a_early; nothing is published twice
    _finish(db, a_early)
    assert relay.sweep() == 1 and published[-1] == a_late
    assert fresh_ingest not in published


def test_deliver_waits_for_an_earlier_unparsed_receipt_of_the_same_partner(db: Database) -> None:
    published: list[int] = []
    relay = Relay(db, publish=lambda job_id, kind: published.append(job_id), republish_after=3600)
    r1, r2 = _receipt(db), _receipt(db)
    ingest = _job(db, kind="ingest", inbox_id=r1, partner_id="ACME", published_at=utcnow() + timedelta(seconds=1))
    deliver = _job(db, kind="deliver", inbox_id=r2, partner_id="ACME", ordering_key="ACME/PO-9")
    other = _job(db, kind="deliver", inbox_id=_receipt(db, "GLOBEX"), partner_id="GLOBEX", ordering_key="G/1")
    assert relay.sweep() == 1 and published == [other]  # another partner never waits
    _finish(db, ingest)
    assert relay.sweep() == 1 and published[-1] == deliver


def test_a_job_handed_back_before_its_serve_marked_it_is_published_once_it_may_run(db: Database) -> None:
    """The serve publishes a partner's second interchange; a worker takes it at once, finds the
    first one not read yet and hands it back, all before the serve marks its publish. The job
    must come back as soon as the first one is read, not 30 s (grace) or 300 s (republish) later."""
    published: list[int] = []
    relay = Relay(db, publish=lambda job_id, kind: published.append(job_id), republish_after=3600)
    r1, r2 = _receipt(db), _receipt(db)
    soon = utcnow() + timedelta(seconds=1)  # published, not due again
    first = _job(db, kind="ingest", inbox_id=r1, partner_id="ACME", published_at=soon)
    second = _job(db, kind="ingest", inbox_id=r2, partner_id="ACME")
    with db.session() as s:
        hand_back(s, second)  # the worker
    relay.mark_published([second])  # the serve's publisher, late
    assert relay.sweep() == 0  # the first interchange is not read yet: the second waits
    _finish(db, first)
    assert relay.sweep() == 1 and published == [second]
    assert relay.sweep() == 0  # published once
    # a handed-back delivery waits for the older job of its key, then goes at once
    older = _job(db, kind="deliver", inbox_id=r1, partner_id="ACME", ordering_key="ACME/PO-7", published_at=soon)
    newer = _job(db, kind="deliver", inbox_id=r2, partner_id="ACME", ordering_key="ACME/PO-7", published_at=soon)
    with db.session() as s:
        hand_back(s, newer)
    assert relay.sweep() == 0
    _finish(db, older)
    assert relay.sweep() == 1 and published[-1] == newer


def test_due_retries_are_published_again_and_a_refused_publish_stays_due(db: Database) -> None:
    published: list[int] = []
    job = _job(db, kind="deliver", inbox_id=_receipt(db), partner_id="ACME", ordering_key="K",
               published_at=utcnow() - timedelta(seconds=10), status="retrying",
               next_attempt_at=utcnow() - timedelta(seconds=1))

    def refuse(job_id: int, kind: str) -> None:
        raise ConnectionError("broker away")

    with pytest.raises(ConnectionError):
        Relay(db, publish=refuse, republish_after=3600).sweep()  # nothing confirmed: nothing marked
    assert Relay(db, publish=lambda j, k: published.append(j), republish_after=3600).sweep() == 1
    assert published == [job]


def test_paused_partners_wait_and_jobs_handed_out_long_ago_go_again(db: Database) -> None:
    published: list[int] = []
    relay = Relay(db, publish=lambda job_id, kind: published.append(job_id), republish_after=60)
    with db.session() as s:
        s.add(Partner(id="SLOW", name="Slow", role="customer", profile={}, paused=True))
    paused = _job(db, kind="deliver", inbox_id=_receipt(db, "SLOW"), partner_id="SLOW", ordering_key="S/1")
    long_ago, lately = utcnow() - timedelta(seconds=61), utcnow() - timedelta(seconds=30)
    lost = _job(db, kind="deliver", inbox_id=_receipt(db), partner_id="ACME", ordering_key="A/1",
                next_attempt_at=long_ago, published_at=long_ago)  # its message must be gone
    recent = _job(db, kind="deliver", inbox_id=_receipt(db), partner_id="ACME", ordering_key="A/2",
                  next_attempt_at=lately, published_at=lately)
    assert relay.sweep() == 1 and published == [lost]
    with db.session() as s:
        s.get(Partner, "SLOW").paused = False  # type: ignore[union-attr]
    assert relay.sweep() == 1 and published[-1] == paused
    assert recent not in published


def test_the_serves_mark_leaves_jobs_a_worker_got_to_first(db: Database) -> None:
    fresh = _job(db, kind="ingest", inbox_id=_receipt(db), partner_id="ACME")
    handed = _job(db, kind="ingest", inbox_id=_receipt(db), partner_id="ACME")
    retried = _job(db, kind="ingest", inbox_id=_receipt(db), partner_id="ACME", attempts=1, status="retrying")
    done = _job(db, kind="ingest", inbox_id=_receipt(db), partner_id="ACME", status="done")
    with db.session() as s:
        hand_back(s, handed)
    Relay(db, publish=lambda job_id, kind: None, republish_after=60).mark_published([fresh, handed, retried, done])
    with db.session() as s:
        marks = {job_id: s.get(Job, job_id).published_at for job_id in (fresh, handed, retried, done)}  # type: ignore[union-attr]
    assert marks[fresh] is not None and marks[fresh] > utcnow() - timedelta(seconds=5)
    assert marks[handed] == HANDED_BACK and marks[retried] is None and marks[done] is None
