"""Crossdock's own sends to each partner, per hour, for the failing-sends check
(``pipelines.intelligence.anomaly.detect_failing_sends``): a partner whose system is down
refuses everything the hub sends it, however few documents it sends itself.

Read from ``edi_outbound`` (every interchange the hub sends: 855/856/810 to customers, 850s to
suppliers, 997s, over AS2, a directory or a mailbox), by the hour each was queued, as the sender
(``hub.edi.sender``) and the MDN receiver (``hub.edi.mdn``) leave it:

* taken: ``sent`` (a verified MDN, HTTP 2xx, the file written, the mailbox);
* failed: ``failed`` (the retry policy gave up, a MIC mismatch, no asynchronous MDN after the
  last resend), ``refused`` (a negative MDN), and ``queued`` after a failed attempt (still
  being retried: ``attempts`` > 0);
* not judged yet: ``queued`` before its first attempt (new, or waiting behind a failed one of
  the same partner) and ``awaiting_mdn``.

The row keeps only the outcome of a send, not each attempt, so a send that failed at 09:00
and was taken on a retry an hour later counts as taken, in the hour it was queued.

Usage:
    send_points(session, since=now - timedelta(days=16), dialect="postgresql")
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from hub.intel.hours import as_hour, hour_of
from hub.storage.edi_tables import EdiOutbound
from pipelines.intelligence.anomaly import SendPoint

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["send_points"]

_FAILED = ("failed", "refused")


def send_points(s: Session, *, since: datetime, dialect: str) -> list[SendPoint]:
    """Sends judged and sends failed per partner and hour queued, since ``since`` (hours with
    no judged send have no point)."""
    counts: dict[tuple[str, datetime], list[int]] = defaultdict(lambda: [0, 0])
    h = hour_of(EdiOutbound.created_at, dialect)
    for partner, hour, status, attempts, n in s.execute(
            select(EdiOutbound.partner_id, h, EdiOutbound.status, EdiOutbound.attempts, func.count())
            .where(EdiOutbound.created_at >= since)
            .group_by(EdiOutbound.partner_id, h, EdiOutbound.status, EdiOutbound.attempts)):
        failed = status in _FAILED or (status == "queued" and bool(attempts))
        if status != "sent" and not failed:
            continue  # not judged yet
        cell = counts[(partner, as_hour(hour))]
        cell[0] += n
        cell[1] += n if failed else 0
    return [SendPoint(partner, hour, sent, failed) for (partner, hour), (sent, failed) in sorted(counts.items())]
