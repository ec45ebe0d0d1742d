"""The EDI sender on SQLite and PostgreSQL: a mailbox partner's due interchanges are marked sent
together (they collect them), the ones expecting an acknowledgment get their due time, and a
partner whose earlier interchange waits for a retry is still held back."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from canonical.documents import PurchaseOrder
from hub.edi.outbound import queue_document
from hub.edi.sender import EdiSender
from hub.partners import PartnerProfile, partner_dict, upsert_partner
from hub.storage.db import Database
from hub.storage.edi_tables import EdiOutbound
from hub.storage.tables import utcnow
from pipelines.retry import RetryPolicy

ROOT = Path(__file__).resolve().parents[2]


def _supplier(db: Database, partner_id: str, **edi: Any) -> dict[str, Any]:
    with db.session() as s:
        upsert_partner(s, PartnerProfile.model_validate({"id": partner_id, "name": partner_id, "role": "supplier", "edi": {
            "standard": "x12", "interchange_id": partner_id, "our_interchange_id": "WIDGETSUPPLY",
            "transport": "mailbox", "ack_expected_within_seconds": 3600, **edi}}), source="api")
        profile = partner_dict(s, partner_id)
    assert profile is not None
    return profile


def _order(po_number: str) -> PurchaseOrder:
    data = json.loads((ROOT / "examples" / "purchase-order.json").read_text())
    return PurchaseOrder.model_validate(data | {"po_number": po_number})


def _queue(db: Database, partner: dict[str, Any], count: int) -> list[int]:
    with db.session() as s:
        rows = [queue_document(s, partner, _order(f"{partner['id']}-{n}")) for n in range(count)]
        return [row.id for row in rows]


def test_a_mailbox_partners_due_interchanges_are_sent_together(db: Database, tmp_path: Path) -> None:
    box = _supplier(db, "BOXCO")
    files = _supplier(db, "FILECO", transport="directory", outbound_dir=str(tmp_path / "out"))
    held = _supplier(db, "HELDCO")
    boxed, filed, waiting = _queue(db, box, 3), _queue(db, files, 1), _queue(db, held, 2)
    with db.session() as s:  # HELDCO's first interchange waits for a retry: the second must not overtake it
        s.execute(update(EdiOutbound).where(EdiOutbound.id == waiting[0])
                  .values(next_attempt_at=utcnow() + timedelta(hours=1), attempts=1))
    before = utcnow()
    sent = EdiSender(db, policy=RetryPolicy()).poll()
    assert sent == 4
    with db.reader() as s:
        rows = {r.id: r for r in s.scalars(select(EdiOutbound))}
        for row_id in boxed:
            row = rows[row_id]
            assert (row.status, row.receipt, row.attempts, row.last_error) == ("sent", "mailbox", 1, None)
            assert row.sent_at is not None and row.sent_at >= before.replace(tzinfo=row.sent_at.tzinfo)
            assert row.ack_status == "pending" and row.ack_due_at is not None
            assert timedelta(minutes=59) < row.ack_due_at - row.sent_at <= timedelta(hours=1, seconds=1)
        assert rows[filed[0]].status == "sent" and (rows[filed[0]].receipt or "").startswith("file ")
        assert [rows[i].status for i in waiting] == ["queued", "queued"]
    assert len(list((tmp_path / "out").iterdir())) == 1
    assert EdiSender(db, policy=RetryPolicy()).poll() == 0  # nothing is sent twice
