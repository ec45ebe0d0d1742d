"""Asynchronous MDNs for what Crossdock sent: matched, verified, parked when unmatched, chased when late."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, select

from connectors.transports.as2.mdn import render_mdn
from hub.edi.mdn import MdnReceiver, chase_overdue
from hub.storage.db import Database
from hub.storage.edi_tables import EdiOutbound
from hub.storage.tables import Case, DeadLetter, InboxEntry, Partner, utcnow
from tests.support.services import sqlite_database

RAW = b"ISA*00*          *00*          *ZZ*ACME           *ZZ*MOCKEDI        *~"
MIC = base64.b64encode(hashlib.sha256(RAW).digest()).decode()
SENT_ID = "<sent-1@ACME>"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    url = sqlite_database(tmp_path / "crossdock.db")
    d = Database(url)
    with d.session() as s:
        for pid, as2_id in (("MOCKSELLER", "MOCKEDI"), ("OTHER", "OTHERCO")):
            s.add(Partner(id=pid, name=pid.title(), role="supplier", profile={"as2": {
                "as2_id": as2_id, "our_as2_id": "ACME", "url": "http://127.0.0.1:9/as2", "mdn_mode": "async",
                "async_mdn_url": "http://127.0.0.1:8/as2", "mdn_timeout_s": 60, "mdn_resends": 1}}))
    yield d
    d.dispose()


def outbound(db: Database, *, status: str = "awaiting_mdn", **fields: Any) -> int:
    with db.session() as s:
        values = {"mdn_due_at": utcnow() + timedelta(seconds=60), **fields}
        row = EdiOutbound(partner_id="MOCKSELLER", standard="x12", set_id="850", interchange_control="000000101",
                          po_number="PO-1", raw=RAW, status=status, as2_message_id=SENT_ID,
                          as2_mic=f"{MIC} other-candidate=", as2_mic_algorithm="sha256", **values)
        s.add(row)
        s.flush()
        return row.id


def mdn(original: str = SENT_ID, *, disposition: str = "processed", mic: str | None = f"{MIC}, sha256",
        sender: str = "MOCKEDI") -> tuple[dict[str, str], bytes]:
    return render_mdn(our_id=sender, partner_id="ACME", original_message_id=original, disposition=disposition,
                      text="receipt", mic=mic)


def row(db: Database, row_id: int) -> SimpleNamespace:
    with db.reader() as s:
        found = s.get(EdiOutbound, row_id)
        assert found is not None
        return SimpleNamespace(**{c.key: getattr(found, c.key) for c in EdiOutbound.__table__.columns})


def dead_letters(db: Database) -> list[SimpleNamespace]:
    with db.reader() as s:
        return [SimpleNamespace(**{c.key: getattr(d, c.key) for c in DeadLetter.__table__.columns})
                for d in s.scalars(select(DeadLetter))]


@pytest.mark.parametrize(("disposition", "mic", "status", "error"), [
    ("processed", f"{MIC}, sha256", "sent", None),
    ("processed/warning: duplicate-document", f"{MIC}, sha256", "sent", None),
    ("processed", "AAAA, sha256", "failed", "MIC"),
    ("processed", f"{MIC}, sha1", "failed", "MIC"),
    ("processed/error: unexpected-processing-error", f"{MIC}, sha256", "refused", "refused"),
    ("failed/failure: unsupported-format", None, "refused", "refused"),
])
def test_an_mdn_settles_the_interchange_it_answers(db: Database, disposition: str, mic: str | None, status: str,
                                                   error: str | None) -> None:
    row_id = outbound(db)
    MdnReceiver(db)(*mdn(disposition=disposition, mic=mic))
    got = row(db, row_id)
    assert (got.status, got.mdn_due_at) == (status, None)
    assert (got.last_error is None) if error is None else (error in (got.last_error or ""))
    assert dead_letters(db) == []


def test_an_mdn_that_beats_the_answer_to_the_post_still_counts(db: Database) -> None:
    row_id = outbound(db, status="queued")  # Message-ID recorded, the POST not answered yet
    MdnReceiver(db)(*mdn())
    assert row(db, row_id).status == "sent"


def test_a_settled_interchange_is_not_changed_by_another_mdn(db: Database) -> None:
    row_id = outbound(db, status="sent", receipt="MDN processed")
    MdnReceiver(db)(*mdn(disposition="processed/error: unexpected-processing-error"))
    assert (row(db, row_id).status, row(db, row_id).receipt) == ("sent", "MDN processed")


@pytest.mark.parametrize(("original", "sender", "partner", "words"), [
    ("<never-sent@ACME>", "MOCKEDI", "MOCKSELLER", "did not send"),
    (SENT_ID, "OTHERCO", "OTHER", "comes from OTHERCO"),  # our Message-ID, answered by someone else
    (SENT_ID, "STRANGER", "STRANGER", "comes from STRANGER"),
])
def test_an_unmatched_mdn_is_kept_with_a_dead_letter_and_changes_nothing(
        db: Database, original: str, sender: str, partner: str, words: str) -> None:
    row_id = outbound(db)
    headers, body = mdn(original, sender=sender)
    MdnReceiver(db)(headers, body)
    MdnReceiver(db)(headers, body)  # posted twice: archived once more, one dead letter
    assert row(db, row_id).status == "awaiting_mdn"
    [dl] = dead_letters(db)
    assert (dl.error_code, dl.stage, dl.partner_id) == ("as2.mdn_unmatched", "as2-mdn", partner)
    assert words in dl.error and dl.details["mdn"]["original_message_id"] == original
    with db.reader() as s:
        entries = [(e.status, e.channel, e.document_type, e.raw, e.outcome.get("dead_letter_id"))
                   for e in s.scalars(select(InboxEntry).order_by(InboxEntry.id))]
    assert entries == [("failed", "as2", "as2_mdn", body, dl.id), ("duplicate", "as2", "as2_mdn", None, None)]


def test_an_unreadable_mdn_is_kept_too(db: Database) -> None:
    headers = {"Content-Type": 'multipart/report; report-type=disposition-notification; boundary="b"',
               "AS2-From": "MOCKEDI", "AS2-To": "ACME", "Message-ID": "<m@x>"}
    body = b"--b\r\nContent-Type: text/plain\r\n\r\nno machine part\r\n--b--\r\n"
    MdnReceiver(db)(headers, body)
    [dl] = dead_letters(db)
    assert dl.error_code == "as2.mdn_unreadable" and dl.partner_id == "MOCKSELLER"


def test_an_overdue_mdn_is_chased_by_a_resend_then_a_case(db: Database) -> None:
    row_id = outbound(db, mdn_due_at=utcnow() - timedelta(seconds=1))
    assert chase_overdue(db) == 1
    got = row(db, row_id)
    assert (got.status, got.mdn_resends, got.mdn_due_at) == ("queued", 1, None)
    assert "no MDN for <sent-1@ACME>" in (got.last_error or "")
    with db.session() as s:  # the resend went out (new Message-ID) and its MDN is late too
        again = s.get(EdiOutbound, row_id)
        assert again is not None
        again.status, again.as2_message_id, again.mdn_due_at = "awaiting_mdn", "<sent-2@ACME>", utcnow()
    assert chase_overdue(db) == 1
    got = row(db, row_id)
    assert (got.status, got.mdn_resends) == ("failed", 1)
    with db.reader() as s:
        [case] = list(s.scalars(select(Case)))
        assert (case.type, case.partner_id, case.business_key) == (
            "edi.mdn-missing", "MOCKSELLER", "MOCKSELLER/interchange/000000101")
        assert case.details["last_message_id"] == "<sent-2@ACME>" and case.details["resends"] == 1
    assert chase_overdue(db) == 0  # nothing left to chase


def test_a_receipt_after_giving_up_marks_the_interchange_delivered(db: Database) -> None:
    row_id = outbound(db, mdn_due_at=utcnow() - timedelta(seconds=1), mdn_resends=1)
    chase_overdue(db)
    assert row(db, row_id).status == "failed"
    MdnReceiver(db)(*mdn(disposition="processed/error: unexpected-processing-error"))
    assert row(db, row_id).status == "failed"  # a late refusal changes nothing
    MdnReceiver(db)(*mdn())
    assert row(db, row_id).status == "sent"
    with db.reader() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 1  # the case stays for a person


def test_the_mdn_of_an_earlier_send_counts_only_when_positive(db: Database) -> None:
    row_id = outbound(db, as2_earlier_message_ids=[SENT_ID])
    with db.session() as s:
        again = s.get(EdiOutbound, row_id)
        assert again is not None
        again.as2_message_id = "<sent-2@ACME>"  # resent since
    MdnReceiver(db)(*mdn(disposition="processed/error: unexpected-processing-error"))
    assert row(db, row_id).status == "awaiting_mdn"  # the resend's MDN decides
    MdnReceiver(db)(*mdn())
    assert row(db, row_id).status == "sent"
    assert dead_letters(db) == []
