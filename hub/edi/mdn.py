"""Asynchronous MDNs for what Crossdock sends over AS2: matched when they arrive, chased when late.

A partner whose profile says ``as2.mdn_mode: async`` answers our POST with a bare 2xx and
POSTs its MDN to ``as2.async_mdn_url`` (Crossdock's ``/as2``) later. The sender records the
Message-ID and MIC of each send on the ``edi_outbound`` row before the POST, and leaves the
row ``awaiting_mdn`` until ``mdn_due_at``. Then:

* :class:`MdnReceiver` (the ``on_mdn`` of ``POST /as2``) finds the row by Original-Message-ID,
  checks AS2-From (and the signature, when we hold the partner's certificate) and the MIC,
  and marks it as a synchronous MDN would: ``sent`` when positive with our MIC, ``refused``
  for a negative disposition, ``failed`` for a MIC that is not ours. The MDN of a send since
  repeated still counts when positive (the partner has it); a negative one is only logged,
  as the latest send's MDN decides. An MDN that matches no
  row, or cannot be read, is parked as inbound is that nothing can process: stored in the
  inbox with a dead letter naming why, and answered 200.
* :func:`chase_overdue` (run by the sender's scheduled poll) queues an interchange whose MDN
  is overdue again, as it was, with a new Message-ID, up to ``as2.mdn_resends`` times; after
  the last one it fails the row and opens an ``edi.mdn-missing`` case.

Usage:
    as2_endpoint(inbox=inbox, profiles=profiles, on_mdn=MdnReceiver(db))
    chase_overdue(db)   # from EdiSender.poll
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from canonical.errors import PermanentError
from connectors.transports.as2 import (
    AS2PartnerConfig,
    MdnReport,
    SentMessage,
    mdn_from,
    parse_mdn,
    verify_mdn,
    verify_mdn_signature,
)
from connectors.transports.as2.message import unquote_id
from connectors.transports.as2.mime import MimeError
from hub.partners import partner_dict
from hub.storage.db import Database
from hub.storage.edi_tables import EdiOutbound
from hub.storage.tables import Case, DeadLetter, InboxEntry, Job, Partner, utcnow

__all__ = ["MdnReceiver", "chase_overdue"]

log = structlog.get_logger("crossdock.edi.mdn")
_SETTLED = ("sent", "refused")  # an MDN after these changes nothing


def _as2_config(profile: Mapping[str, Any] | None) -> AS2PartnerConfig | None:
    raw = (profile or {}).get("as2")
    return AS2PartnerConfig.model_validate(raw) if raw else None


class MdnReceiver:
    """``on_mdn`` for ``POST /as2`` (see the module docstring). Never raises for a bad MDN."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def __call__(self, headers: Mapping[str, str], body: bytes) -> None:
        try:
            report = parse_mdn(headers, body)
        except MimeError as exc:
            self._park(headers, body, None, code="as2.mdn_unreadable", reason=f"the MDN is unreadable: {exc}")
            return
        with self.db.session() as s:
            found = self._find(s, report)
            if isinstance(found, str):
                reason = found
            else:
                row, sent, config = found
                try:
                    verify_mdn_signature(headers, body, config, sent.message_id)
                except PermanentError as exc:
                    reason = f"the MDN for {sent.message_id} does not verify: {exc}"
                else:
                    self._apply(row, report, sent)
                    return
        self._park(headers, body, report, code="as2.mdn_unmatched", reason=reason)

    @staticmethod
    def _find(s: Session, report: MdnReport) -> tuple[EdiOutbound, SentMessage, AS2PartnerConfig] | str:
        """The row the MDN answers and what was sent, or why there is none."""
        original = report.original_message_id or ""
        row = s.scalar(select(EdiOutbound).where(EdiOutbound.as2_message_id == original)
                       .order_by(EdiOutbound.id.desc()).limit(1)) if original else None
        if row is None and original:  # a send before the last one (resent since)
            row = next((r for r in s.scalars(select(EdiOutbound).where(
                EdiOutbound.as2_earlier_message_ids.is_not(None)).order_by(EdiOutbound.id.desc()).limit(500))
                if original in (r.as2_earlier_message_ids or [])), None)
        config = _as2_config(partner_dict(s, row.partner_id)) if row is not None else None
        if row is None or config is None or row.as2_mic is None:
            return f"the MDN answers {original or 'no Message-ID'}, which Crossdock did not send"
        sent = SentMessage(original, config.as2_id, row.as2_mic_algorithm or config.mic_algorithm.value,
                           tuple(row.as2_mic.split()))
        if not mdn_from(report, sent):
            return f"the MDN for {original} comes from {report.as2_from}, not {config.as2_id}"
        return row, sent, config

    @staticmethod
    def _apply(row: EdiOutbound, report: MdnReport, sent: SentMessage) -> None:
        """Settle the row as a synchronous MDN would have (``EdiSender`` does the same)."""
        if row.status in _SETTLED:
            log.info("edi.mdn_again", outbound_id=row.id, message_id=sent.message_id, status=row.status)
            return
        try:
            verify_mdn(report, sent)
        except PermanentError as error:
            if sent.message_id != row.as2_message_id:
                log.warning("edi.mdn_earlier_failed", outbound_id=row.id, message_id=sent.message_id, error=str(error))
                return  # about a send since repeated: the latest send's MDN decides
            if row.status == "failed":
                return  # failed already (and a case is open if it was for a missing MDN)
            negative = error.code == "as2.mdn_negative"
            row.status = "refused" if negative else "failed"
            row.last_error = str(error)[:2000]
            if negative:
                row.receipt = str(error)[:2000]
            row.mdn_due_at = None
            log.warning("edi.mdn_failed", partner=row.partner_id, outbound_id=row.id, code=error.code,
                        error=str(error))
            return
        if row.status == "failed":  # the receipt came after Crossdock stopped waiting: delivered after all
            log.warning("edi.mdn_late", partner=row.partner_id, outbound_id=row.id, message_id=sent.message_id)
        row.status, row.receipt, row.last_error, row.mdn_due_at = "sent", f"MDN {report.disposition}", None, None
        row.sent_at = row.sent_at or utcnow()
        log.info("edi.mdn_received", partner=row.partner_id, outbound_id=row.id, message_id=sent.message_id)

    def _park(self, headers: Mapping[str, str], body: bytes, report: MdnReport | None, *,
              code: str, reason: str) -> None:
        """Keep an MDN nothing can use: in the inbox, with a dead letter saying why."""
        lowered = {k.lower(): v for k, v in headers.items()}
        as2_from = unquote_id(lowered.get("as2-from", "")) or "unknown"
        sha = hashlib.sha256(body).hexdigest()
        meta = {"as2_message_id": lowered.get("message-id"), "as2_from": as2_from, "as2_to": lowered.get("as2-to"),
                "mdn": None if report is None else {"original_message_id": report.original_message_id,
                                                    "disposition": report.disposition, "mic": report.mic,
                                                    "mic_algorithm": report.mic_algorithm}}
        with self.db.session() as s:
            partner_id = self._partner_of(s, as2_from)
            entry = InboxEntry(partner_id=partner_id, channel="as2", document_type="as2_mdn",
                               content_type=lowered.get("content-type", "")[:120], sha256=sha, size=len(body),
                               correlation_id=(report.original_message_id if report else None), meta=meta)
            original = s.scalar(select(InboxEntry.id).where(InboxEntry.partner_id == partner_id,
                                                            InboxEntry.sha256 == sha,
                                                            InboxEntry.duplicate_of.is_(None)).limit(1))
            if original is not None:  # the partner posted the same MDN again: archived once
                entry.duplicate_of, entry.status = original, "duplicate"
                s.add(entry)
                log.warning("edi.mdn_parked_again", partner=partner_id, inbox_id=original, reason=reason)
                return
            entry.raw, entry.status = body, "failed"
            s.add(entry)
            s.flush()
            job = Job(kind="ingest", inbox_id=entry.id, partner_id=partner_id, status="dead", attempts=1,
                      finished_at=utcnow(), last_error=reason)
            s.add(job)
            s.flush()
            dl = DeadLetter(job_id=job.id, inbox_id=entry.id, partner_id=partner_id, document_type="as2_mdn",
                            stage="as2-mdn", error_code=code, error=reason, details={"reason": reason, **meta})
            s.add(dl)
            s.flush()
            entry.outcome = {"dead_letter_id": dl.id, "error": reason, "stage": "as2-mdn", "code": code}
            log.warning("edi.mdn_parked", partner=partner_id, inbox_id=entry.id, dead_letter_id=dl.id, reason=reason)

    @staticmethod
    def _partner_of(s: Session, as2_id: str) -> str:
        for pid, profile in s.execute(select(Partner.id, Partner.profile)):
            if ((profile or {}).get("as2") or {}).get("as2_id") == as2_id:
                return str(pid)
        return as2_id[:64]


def chase_overdue(db: Database, *, batch: int = 50) -> int:
    """Resend (or, past the limit, fail) interchanges whose async MDN is overdue; returns how many."""
    with db.reader() as s:
        due = list(s.execute(select(EdiOutbound.id, EdiOutbound.partner_id, EdiOutbound.as2_message_id)
                             .where(EdiOutbound.status == "awaiting_mdn", EdiOutbound.mdn_due_at <= utcnow())
                             .order_by(EdiOutbound.id).limit(batch)))
    for row_id, partner_id, message_id in due:
        with db.session() as s:
            config = _as2_config(partner_dict(s, partner_id))
            # Claimed by its state: an MDN that arrived meanwhile has moved the row on.
            row = s.scalar(select(EdiOutbound).where(EdiOutbound.id == row_id, EdiOutbound.status == "awaiting_mdn",
                                                     EdiOutbound.as2_message_id == message_id))
            if row is None:
                continue
            resends, limit = row.mdn_resends or 0, config.mdn_resends if config else 0
            waited = f"no MDN for {message_id} by {row.mdn_due_at:%Y-%m-%d %H:%M:%S} UTC"
            claimed = s.execute(update(EdiOutbound).where(EdiOutbound.id == row_id,
                                                          EdiOutbound.status == "awaiting_mdn",
                                                          EdiOutbound.as2_message_id == message_id)
                                .values(status="queued" if resends < limit else "failed",
                                        next_attempt_at=utcnow(), mdn_due_at=None,
                                        mdn_resends=resends + 1 if resends < limit else resends,
                                        last_error=f"{waited}: sent again" if resends < limit else
                                        f"{waited}, after {resends} resend(s): given up")
                                .execution_options(synchronize_session=False))
            if not getattr(claimed, "rowcount", 1):
                continue
            if resends < limit:
                log.warning("edi.mdn_overdue_resend", partner=partner_id, outbound_id=row_id, message_id=message_id,
                            resend=resends + 1, of=limit)
                continue
            _open_case(s, row, message_id=message_id, resends=resends, waited=waited)
    return len(due)


def _open_case(s: Session, row: EdiOutbound, *, message_id: str | None, resends: int, waited: str) -> None:
    summary = (f"{row.set_id} interchange {row.interchange_control} to {row.partner_id}"
               f"{f' (PO {row.po_number})' if row.po_number else ''}: {waited}, after {resends} resend(s). "
               "The partner has not confirmed receipt: check its AS2 MDN settings, then resend or cancel.")
    case = Case(type="edi.mdn-missing", severity="high", partner_id=row.partner_id, document_id=row.document_id,
                summary=summary, business_key=f"{row.partner_id}/interchange/{row.interchange_control}",
                details={"outbound_id": row.id, "set_id": row.set_id, "interchange_control": row.interchange_control,
                         "po_number": row.po_number, "last_message_id": message_id, "resends": resends})
    s.add(case)
    s.flush()
    log.error("edi.mdn_missing", partner=row.partner_id, outbound_id=row.id, case_id=case.id, resends=resends)

