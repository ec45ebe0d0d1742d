"""A group commit of the intake writes the whole group's receipts and jobs with one INSERT
each (on PostgreSQL; SQLite, in process, takes them row by row): every receipt stored with its bytes and one job, ids in the order the receipts
came, replays archived against their original and given no job, exactly as receipt by
receipt."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import event, select

from connectors.base import Receipt
from hub.inbox import BlobStore, DatabaseInbox
from hub.storage.db import Database
from hub.storage.tables import InboxEntry, Job

ROOT = Path(__file__).resolve().parents[2]


def _order(n: int) -> bytes:
    template = json.loads((ROOT / "examples" / "purchase-order.json").read_text())
    return json.dumps(template | {"po_number": f"GI-{n:05d}"}).encode()


def _receipt(partner: str) -> Receipt:
    return Receipt(partner_id=partner, channel="http", document_type="purchase_order", meta={"n": partner})


def _stored(db: Database) -> dict[int, dict[str, Any]]:
    """Each receipt's row, with its job's (or None) under "job"."""
    with db.reader() as s:
        jobs = {j.inbox_id: {"id": j.id, "kind": j.kind, "status": j.status, "attempts": j.attempts,
                             "partner_id": j.partner_id} for j in s.scalars(select(Job))}
        return {e.id: {"partner_id": e.partner_id, "raw": None if e.raw is None else bytes(e.raw),
                       "status": e.status, "duplicate_of": e.duplicate_of, "meta": e.meta, "size": e.size,
                       "job": jobs.get(e.id)} for e in s.scalars(select(InboxEntry))}


def test_a_group_is_two_inserts_and_keeps_the_order_it_came_in(db: Database, tmp_path: Path) -> None:
    inbox = DatabaseInbox(db, blobs=BlobStore(tmp_path / "blobs"))
    items = [(_receipt("ACME" if i % 3 else "GLOBEX"), _order(i)) for i in range(9)]
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        statements.append(sql.split(None, 1)[0].upper())

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        results = inbox._record_group(items)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    sql = [s for s in statements if s not in ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")]
    assert sql[:9] == ["SELECT"] * 9  # the look for each one's original
    if db.engine.dialect.name == "postgresql":  # a round trip each: all the receipts, all the jobs
        assert sql[9:] == ["INSERT", "INSERT"]
    ids = [stored.receipt_id for stored, _ in results]
    assert ids == sorted(ids) and len(set(ids)) == 9  # arrival order: a partner's interchanges are read in it
    rows = _stored(db)
    for (receipt, raw), (stored, job_id) in zip(items, results, strict=True):
        entry = rows[stored.receipt_id]
        assert (entry["partner_id"], entry["raw"], entry["status"], entry["duplicate_of"]) == (
            receipt.partner_id, raw, "received", None)
        assert entry["meta"] == {"n": receipt.partner_id} and entry["size"] == len(raw)
        assert stored.duplicate_of is None
        assert entry["job"] == {"id": job_id, "kind": "ingest", "status": "queued", "attempts": 0,
                                "partner_id": receipt.partner_id}


def test_a_replay_in_a_group_is_archived_against_its_original_and_runs_nothing(
        db: Database, tmp_path: Path) -> None:
    inbox = DatabaseInbox(db, blobs=BlobStore(tmp_path / "blobs"))
    first = inbox.store(_receipt("ACME"), _order(1))
    results = inbox._record_group([(_receipt("ACME"), _order(2)),
                                   (_receipt("ACME"), _order(1)),     # the same bytes again: a replay
                                   (_receipt("GLOBEX"), _order(1)),   # the same bytes from another partner: new
                                   (_receipt("ACME"), _order(3))])
    rows = _stored(db)
    (b, b_job), (again, again_job), (other, other_job), (c, c_job) = results
    assert again.duplicate_of == first.receipt_id and again_job is None
    assert rows[again.receipt_id]["status"] == "duplicate" and rows[again.receipt_id]["raw"] is None
    assert rows[again.receipt_id]["job"] is None and rows[again.receipt_id]["duplicate_of"] == first.receipt_id
    for stored, job_id in ((b, b_job), (other, other_job), (c, c_job)):
        assert stored.duplicate_of is None and rows[stored.receipt_id]["job"]["id"] == job_id
    assert [b.receipt_id, again.receipt_id, other.receipt_id, c.receipt_id] == sorted(
        [b.receipt_id, again.receipt_id, other.receipt_id, c.receipt_id])


def test_the_same_bytes_twice_in_one_group_keep_the_first_as_their_original(db: Database, tmp_path: Path) -> None:
    inbox = DatabaseInbox(db, blobs=BlobStore(tmp_path / "blobs"))
    (one, one_job), (two, two_job), (three, three_job) = inbox._record_group(
        [(_receipt("ACME"), _order(7)), (_receipt("ACME"), _order(8)), (_receipt("ACME"), _order(7))])
    assert one.duplicate_of is None and one_job is not None and two_job is not None
    assert three.duplicate_of == one.receipt_id and three_job is None
    assert one.receipt_id < two.receipt_id < three.receipt_id
    assert _stored(db)[three.receipt_id]["status"] == "duplicate"
