"""A flow's hourly counts as prefix-summed arrays (``FlowHistory``), and the baseline weeks
a window is compared with (holidays left out, moved an hour either way)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta

from pipelines.intelligence.anomaly.model import (
    _HOUR,
    _WEEK,
    _WEEKDAYS,
    AnomalyConfig,
    FlowPoint,
    _hour,
)
from pipelines.intelligence.anomaly.stats import _between, _prefix

__all__ = ["FlowHistory"]


class _Series:
    """One flow as hour-indexed arrays from its first row; prefix sums make window counts O(1)."""

    __slots__ = ("active", "dead", "dup_hours", "dups", "dups_squared", "errors", "last_seen", "latency",
                 "origin", "received", "sent")

    def __init__(self, origin: datetime, rows: Mapping[int, list[FlowPoint]]) -> None:
        self.origin = origin
        size = max(rows) + 1
        received, errors, dead, dups = [0] * size, [0] * size, [0] * size, [0] * size
        self.latency: list[float | None] = [None] * size
        for i, group in rows.items():
            received[i] = sum(p.received for p in group)
            errors[i] = sum(p.errors for p in group)
            dead[i] = sum(p.dead_letters for p in group)
            dups[i] = sum(p.duplicates for p in group)
            timed = [(p.ack_latency_seconds, max(p.received, 1)) for p in group
                     if p.ack_latency_seconds is not None]
            if timed:
                self.latency[i] = sum(s * w for s, w in timed) / sum(w for _, w in timed)
        self.received, self.errors, self.dead = _prefix(received), _prefix(errors), _prefix(dead)
        self.dups, self.dups_squared = _prefix(dups), _prefix([n * n for n in dups])
        # hours with any document (new or resent), and hours with resends
        self.active = _prefix([int(bool(n or d)) for n, d in zip(received, dups, strict=True)])
        self.dup_hours = _prefix([int(bool(d)) for d in dups])
        self.sent = _prefix([n + d for n, d in zip(received, dups, strict=True)])  # new and resent
        # the latest hour at or before each hour that had documents (-1: none yet)
        self.last_seen: list[int] = []
        last = -1
        for i, n in enumerate(received):
            last = i if n else last
            self.last_seen.append(last)

    def latency_at(self, i: int) -> float | None:
        return self.latency[i] if 0 <= i < len(self.latency) else None

    def total(self, prefix: list[int], start: int, end: int) -> int:
        return _between(prefix, start, end)

    def last_before(self, t: int) -> int:
        """The latest hour before ``t`` with documents, -1 if none."""
        if t <= 0:
            return -1
        return self.last_seen[min(t, len(self.last_seen)) - 1]

    def day(self, i: int) -> date:
        return (self.origin + i * _HOUR).date()


class FlowHistory:
    """``FlowPoint`` rows indexed per partner × document type. Build it once and call
    ``detect_flow_anomalies`` for many ``now`` values: only hours before ``now`` are read.

    Usage:
        history = FlowHistory(points)
    """

    __slots__ = ("_series",)

    def __init__(self, points: Iterable[FlowPoint]) -> None:
        grouped: dict[tuple[str, str], list[FlowPoint]] = defaultdict(list)
        for p in points:
            grouped[(p.partner, p.document_type)].append(p)
        self._series: dict[tuple[str, str], _Series] = {}
        for key, rows in grouped.items():
            origin = min(_hour(p.hour) for p in rows)
            by_index: dict[int, list[FlowPoint]] = defaultdict(list)
            for p in rows:
                by_index[int((_hour(p.hour) - origin) / _HOUR)].append(p)
            self._series[key] = _Series(origin, by_index)

    def flows(self) -> list[tuple[str, str]]:
        """(partner, document type) pairs, sorted."""
        return sorted(self._series)


def _touches_holiday(series: _Series, start: int, end: int, holidays: frozenset[date]) -> bool:
    """Whether the hours ``[start, end)`` touch a day with no business."""
    if not holidays or end <= start:
        return False
    first, last = series.day(start), series.day(end - 1)
    return any(first + timedelta(days=d) in holidays for d in range((last - first).days + 1))


def _after_holidays(series: _Series, start: int, end: int, holidays: frozenset[date]) -> int:
    """``start``, or the first hour after the last holiday within ``[start, end)``."""
    if not _touches_holiday(series, start, end, holidays):
        return start
    day = series.day(end - 1)
    while day not in holidays:
        day -= timedelta(days=1)
    midnight = datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC)
    return max(start, int((midnight - series.origin) / _HOUR))


def _lags(series: _Series, start: int, end: int, config: AnomalyConfig) -> list[int]:
    """Week lags whose window ``[start, end)`` lies in the flow's history and touches no holiday."""
    weeks = range(1, min(config.baseline_weeks, start // _WEEK) + 1)
    if not config.holidays:
        return list(weeks)
    return [k for k in weeks if not _touches_holiday(series, start - k * _WEEK, end - k * _WEEK, config.holidays)]


def _shifted(series: _Series, start: int, end: int, lags: list[int], shift: int,
             *, end_only: bool, prefix: list[int] | None = None) -> list[int]:
    """Counts of ``[start, end)`` in each lag week, moved ``shift`` hours (only the end for
    the day so far, whose start stays at midnight); new documents unless ``prefix`` says
    which counts."""
    a = 0 if end_only else shift
    counts = series.received if prefix is None else prefix
    return [series.total(counts, start - k * _WEEK + a, end - k * _WEEK + shift) for k in lags]


def _since(series: _Series, i: int, end: datetime) -> str:
    """When hour ``i`` was: "since 10:00" today, "since Friday 10:00" on an earlier day."""
    at = series.origin + i * _HOUR
    return f"since {at:%H}:00" if at.date() == end.date() else f"since {_WEEKDAYS[at.weekday()]} {at:%H}:00"
