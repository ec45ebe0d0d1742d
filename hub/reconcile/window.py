"""The reconciliation window: how far back a run looks, on both sides.

A run compares what happened in the last ``CROSSDOCK_RECONCILE_WINDOW_DAYS`` days, not
everything ever: the hub's documents received since the window's start, and the ERP's
records created or changed since then (asked of the ERP as a delta read from the start:
``since`` is a delta token, and S/4HANA's - mock-sap's too - is the moment itself, ``D``
+ UTC ``YYYYMMDD`` ``T`` ``HHMMSS`` + milliseconds). ``0`` days: no window, every run reads
everything, as before the window existed.

The edges, so that the window never invents a finding (each side is windowed, the other side
is then looked up by key, whatever its age):

* an order received in the window whose sales order the ERP created (or last changed) before
  it: the sales order is read by its number (the one the write-back recorded), or found by
  customer PO and sold-to - never reported missing because the delta read did not return it;
* a sales order changed in the window whose order the hub received before it: the hub's
  order is looked up by customer PO (an index) and compared in full, so a quantity changed
  by hand on an old order is still found - and the sales order is never an orphan;
* a delivery or billing document in the window of an older order: the order is looked up by
  its sales order number and the document checked as before;
* billing documents are read from one window further back than deliveries, and a delivery
  dated before the window is not checked: a delivery changed in the window (a proof of
  delivery, say) but billed before it is not reported unbilled;
* an ERP order is an orphan only from the hub's first order for its customer on (ever, not
  within the window), as before.

What the window does give up: an old difference nobody touches again is reported by the runs
while it is inside the window (its case stays open), then no more; a second sales order for
the same customer PO that was created, and last changed, before the window is not seen.

Usage:
    >>> from datetime import UTC, datetime
    >>> window = Window.last(30, now=datetime(2026, 12, 7, 12, 0, tzinfo=UTC))
    >>> window.start.isoformat(), window.erp_since()
    ('2026-11-07T12:00:00+00:00', 'D20261107T120000000')
    >>> Window.last(0).erp_since() is None
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

__all__ = ["Window", "delta_token_at"]


def delta_token_at(moment: datetime) -> str:
    """The ERP's delta token for a moment: what changed at or after it comes back."""
    at = moment.astimezone(UTC) if moment.tzinfo else moment
    return f"D{at:%Y%m%d}T{at:%H%M%S}{at.microsecond // 1000:03d}"


@dataclass(frozen=True, slots=True)
class Window:
    """From ``start`` to now; ``start`` None: everything (no window)."""

    start: datetime | None = None
    length: timedelta = timedelta(0)

    @classmethod
    def last(cls, days: float, *, now: datetime | None = None) -> Window:
        if days <= 0:
            return cls()
        length = timedelta(days=days)
        return cls((now or datetime.now(UTC)) - length, length)

    @property
    def first_day(self) -> date | None:
        return self.start.date() if self.start is not None else None

    def erp_since(self) -> str | None:
        """``since`` for the ERP's delta reads of the window (None: read everything)."""
        return delta_token_at(self.start) if self.start is not None else None

    def billing_since(self) -> str | None:
        """Billing documents are read one window further back than the deliveries they bill."""
        return delta_token_at(self.start - self.length) if self.start is not None else None
