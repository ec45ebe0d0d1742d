"""Deliver queued outbound interchanges, oldest first, one partner's in order.

Transports by profile (``edi.transport``): ``as2`` POSTs with ``send_as2`` and keeps the
MDN's disposition; ``directory`` writes ``<partner>-<set>-<control>.edi`` atomically into
``edi.outbound_dir``; ``mailbox`` marks the row sent for the partner to collect
(``GET /api/v1/edi/outbound/{id}/raw``). A failure is retried with the hub's retry policy
(backoff with jitter, Retry-After honoured); a partner's later interchanges wait behind
its failed one, so they never overtake it. When the policy gives up the row is ``failed``; a
negative MDN (delivered, not processed by the partner) makes it ``refused`` without resending.

Over AS2 the Message-ID and MIC are recorded on the row before the POST. A partner with
``as2.mdn_mode: async`` answers with a bare 2xx: the row is then ``awaiting_mdn`` until its MDN
arrives at ``POST /as2`` or ``as2.mdn_timeout_s`` passes (``hub.edi.mdn``; each poll chases
what is overdue first).

Usage:
    sender = EdiSender(db, policy=policy)
    hub.scheduler.every(1.0, "edi-send", sender.poll)
"""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import select, update

from connectors.transports.as2 import (
    AS2PartnerConfig,
    MdnMode,
    SentMessage,
    build_request,
    post_request,
)
from hub.edi.mdn import chase_overdue
from hub.edi.profile import EdiProfile, edi_profile
from hub.http import shared_client
from hub.partners import partner_dict
from hub.storage.db import Database
from hub.storage.edi_tables import EdiOutbound
from hub.storage.tables import utcnow
from pipelines.classify import Action, classify
from pipelines.retry import RetryPolicy

__all__ = ["EdiSender"]

log = structlog.get_logger("crossdock.edi.sender")
_CONTENT_TYPE = {"x12": "application/edi-x12", "edifact": "application/edifact"}


class EdiSender:
    """See the module docstring."""

    def __init__(self, db: Database, *, policy: RetryPolicy, batch: int = 50) -> None:
        self.db = db
        self.policy = policy
        self.batch = batch

    def poll(self) -> int:
        """Send what is due (overdue async MDNs first queue their resend); returns how many were sent."""
        chase_overdue(self.db, batch=self.batch)
        with self.db.reader() as s:
            due = [(row_id, partner_id) for row_id, partner_id in s.execute(  # the ids, not the payloads
                select(EdiOutbound.id, EdiOutbound.partner_id)
                .where(EdiOutbound.status == "queued", EdiOutbound.next_attempt_at <= utcnow())
                .order_by(EdiOutbound.id).limit(self.batch))]
            waiting = {p for p in s.scalars(select(EdiOutbound.partner_id).where(
                EdiOutbound.status == "queued", EdiOutbound.next_attempt_at > utcnow()))}
        sent = 0
        blocked: set[str] = set(waiting)
        collected = self._to_mailboxes([(row_id, p) for row_id, p in due if p not in blocked])
        sent += len(collected)
        for row_id, partner_id in due:
            if partner_id in blocked or row_id in collected:
                continue
            if not self._send(row_id, partner_id):
                blocked.add(partner_id)
            else:
                sent += 1
        return sent

    def _to_mailboxes(self, due: list[tuple[int, str]]) -> set[int]:
        """Mark what is due for ``mailbox`` partners sent, each partner's rows in one statement:
        nothing goes over a network, so nothing can fail (they collect it through the API)."""
        by_partner: dict[str, list[int]] = {}
        for row_id, partner_id in due:
            by_partner.setdefault(partner_id, []).append(row_id)
        done: set[int] = set()
        with self.db.session() as s:
            for partner_id, ids in by_partner.items():
                edi = edi_profile(partner_dict(s, partner_id) or {})
                if (edi.transport if edi else "mailbox") != "mailbox":
                    continue
                now = utcnow()
                if edi is not None:
                    s.execute(update(EdiOutbound).where(EdiOutbound.id.in_(ids), EdiOutbound.status == "queued",
                                                        EdiOutbound.ack_status == "pending")
                              .values(ack_due_at=now + timedelta(seconds=edi.ack_expected_within_seconds))
                              .execution_options(synchronize_session=False))
                s.execute(update(EdiOutbound).where(EdiOutbound.id.in_(ids), EdiOutbound.status == "queued")
                          .values(status="sent", receipt="mailbox", last_error=None, sent_at=now,
                                  attempts=EdiOutbound.attempts + 1)
                          .execution_options(synchronize_session=False))
                done.update(ids)
                log.info("edi.sent", partner=partner_id, outbound_ids=ids, receipt="mailbox", awaiting_mdn=False)
        return done

    def _send(self, row_id: int, partner_id: str) -> bool:
        with self.db.reader() as s:
            row = s.get(EdiOutbound, row_id)
            profile = partner_dict(s, partner_id)
            if row is None or row.status != "queued":
                return True
            raw, name = bytes(row.raw), f"{partner_id}-{row.set_id}-{row.interchange_control}.edi"
            standard, attempts, created = row.standard, row.attempts, row.created_at
        try:
            receipt, mdn_within = self._transport(row_id, profile or {}, raw, name, standard)
        except Exception as error:  # classified once: retry with the policy, or stop
            retry = classify(error).action is Action.RETRY
            delay = self.policy.next_delay(attempt=attempts + 1, elapsed=(utcnow() - created).total_seconds(),
                                           error=error) if retry else None
            with self.db.session() as s:
                row = s.get(EdiOutbound, row_id)
                assert row is not None
                row.attempts = attempts + 1
                row.last_error = str(error)[:2000]
                if getattr(error, "code", "") == "as2.mdn_negative":
                    # Delivered, and the partner's MDN says it could not process it: not resent.
                    row.status, row.receipt, row.sent_at = "refused", str(error)[:2000], utcnow()
                elif delay is None:
                    row.status = "failed"
                else:
                    row.next_attempt_at = utcnow() + timedelta(seconds=delay)
            log.warning("edi.send_failed", partner=partner_id, outbound_id=row_id, error=str(error), retry_in=delay)
            return getattr(error, "code", "") == "as2.mdn_negative"
        edi = edi_profile(profile)
        with self.db.session() as s:
            row = s.get(EdiOutbound, row_id)
            assert row is not None
            row.sent_at, row.attempts = utcnow(), attempts + 1
            if row.ack_status == "pending" and edi is not None:
                row.ack_due_at = utcnow() + timedelta(seconds=edi.ack_expected_within_seconds)
            if mdn_within is None:
                row.status, row.receipt, row.last_error = "sent", receipt, None
            else:
                # Unless its MDN arrived before the POST returned and settled the row already.
                s.execute(update(EdiOutbound).where(EdiOutbound.id == row_id,
                                                    EdiOutbound.status.not_in(("sent", "refused", "failed")))
                          .values(status="awaiting_mdn", receipt=receipt, last_error=None,
                                  mdn_due_at=utcnow() + timedelta(seconds=mdn_within))
                          .execution_options(synchronize_session=False))
        log.info("edi.sent", partner=partner_id, outbound_id=row_id, set_id=name, receipt=receipt,
                 awaiting_mdn=mdn_within is not None)
        return True

    def _remember(self, row_id: int, sent: SentMessage) -> None:
        """Message-ID and MIC on the row before the POST: an async MDN may beat its answer."""
        with self.db.session() as s:
            row = s.get(EdiOutbound, row_id)
            assert row is not None
            if row.as2_message_id:  # an earlier send's MDN may still come, and still counts
                row.as2_earlier_message_ids = [*(row.as2_earlier_message_ids or []), row.as2_message_id][-20:]
            row.as2_message_id, row.as2_mic, row.as2_mic_algorithm = (
                sent.message_id, " ".join(sent.mics), sent.mic_algorithm)

    def _transport(self, row_id: int, profile: dict[str, Any], raw: bytes, name: str,
                   standard: str) -> tuple[str, float | None]:
        """Send; returns the receipt, and the seconds its async MDN may take (None: delivered now)."""
        edi: EdiProfile | None = edi_profile(profile)
        transport = edi.transport if edi else "mailbox"
        if transport == "as2":
            config = AS2PartnerConfig.model_validate(profile.get("as2") or {})
            request = build_request(raw, config=config, filename=name, content_type=_CONTENT_TYPE[standard])
            self._remember(row_id, request.sent)
            result = post_request(request, config=config, client=shared_client())
            if result.mdn is not None:
                return f"MDN {result.mdn.disposition}", None
            if config.mdn_mode is MdnMode.ASYNC:
                return f"HTTP {result.status_code}, MDN to come for {result.message_id}", config.mdn_timeout_s
            return f"HTTP {result.status_code}", None
        if transport == "directory":
            assert edi is not None and edi.outbound_dir
            folder = Path(edi.outbound_dir)
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".", suffix=".part", dir=folder)
            with os.fdopen(fd, "wb") as out:
                out.write(raw)
            os.replace(tmp, folder / name)
            return f"file {folder / name}", None
        return "mailbox", None
