"""Volume checks of one flow: the day so far, silence since the last document, drops and
spikes over trailing windows, and resends (``FlowPoint.duplicates``)."""

from __future__ import annotations

import math
from datetime import datetime
from statistics import median

from pipelines.intelligence.anomaly.history import (
    _after_holidays,
    _lags,
    _Series,
    _shifted,
    _since,
    _touches_holiday,
)
from pipelines.intelligence.anomaly.model import (
    _HOUR,
    _WEEK,
    _WEEKDAYS,
    AnomalyConfig,
    _Finding,
    _fmt,
    _noun,
)
from pipelines.intelligence.anomaly.stats import (
    Baseline,
    binomial_tail,
    poisson_cdf,
    poisson_tail,
    robust_baseline,
)


def _is_drop(observed: int, base: Baseline, min_expected: float, config: AnomalyConfig) -> bool:
    if base.median < min_expected or observed > config.drop_ratio * base.median:
        return False
    if observed == 0:  # silence: improbable enough on its own, however noisy a 3-week MAD is
        return poisson_cdf(0, base.median) <= config.count_alpha
    return base.z(observed) <= -config.z_threshold and poisson_cdf(observed, base.median) <= config.count_alpha


def _is_spike(observed: int, base: Baseline, earlier: list[int], config: AnomalyConfig) -> bool:
    if (observed < config.spike_ratio * base.median or base.z(observed) < config.spike_z
            or observed <= max(earlier)):
        return False
    excess = observed - base.median
    if excess < min(config.min_spike_excess, config.small_spike_excess):
        return False
    p_value = poisson_tail(observed, max(base.median, config.spike_min_expected))
    if excess >= config.min_spike_excess:
        return p_value <= config.spike_alpha
    return p_value <= config.small_spike_alpha


def _low(series: _Series, start: int, end: int, lags: list[int], min_expected: float,
         config: AnomalyConfig, *, end_only: bool) -> bool:
    """A drop now and ``timing_slack_hours`` ago, each against baselines moved as far either
    way: a batch that runs an hour late, cut in two by the window's edge, is no drop."""
    slack = config.timing_slack_hours
    for ago in range(slack + 1):
        a, b = start - (0 if end_only else ago), end - ago
        if b <= a:
            return False
        observed = series.total(series.received, a, b)
        if not all(_is_drop(observed, robust_baseline(_shifted(series, a, b, lags, s, end_only=end_only)),
                            min_expected, config) for s in range(-slack, slack + 1)):
            return False
    return True


def _chance_of_none(base: Baseline) -> float:
    """The chance of no document at all in hours whose earlier weeks had ``base``: the count
    is taken as negative binomial with the baseline's spread as its standard deviation (a
    Poisson count when the spread is no wider than Poisson noise), around the median less its
    standard error (a median of a few weeks can be high by chance)."""
    mean = base.median - base.spread / math.sqrt(base.samples)
    if mean <= 0:
        return 1.0
    variance = base.spread ** 2
    if variance <= mean:
        return math.exp(-mean)
    shape = mean * mean / (variance - mean)
    return math.exp(shape * math.log(mean / variance))


def _silence(series: _Series, partner: str, document_type: str, t: int, end: datetime,
             config: AnomalyConfig) -> _Finding | None:
    """No document since the last one, over hours that normally hold so many that the chance
    of none at all (``_chance_of_none``) is at most ``silence_alpha``, against the baseline
    moved an hour either way (a morning or a batch an hour late is no silence). Holidays are
    skipped: the hours judged start after the last one."""
    start = max(series.last_before(t) + 1, t - config.silence_max_hours)
    start = _after_holidays(series, start, t, config.holidays)
    if start >= t:
        return None
    slack = config.timing_slack_hours
    lags = _lags(series, start - slack, t + slack, config)
    if len(lags) < config.min_weeks:
        return None
    chances = []
    # the end moves an hour either way; the start (the hour after the last document) only
    # later, as if earlier weeks ran that much later than today
    for a in range(slack + 1):
        for s in range(-slack, slack + 1):
            if start + a >= t + s:
                return None  # too short to judge with the baseline moved
            counts = [series.total(series.received, start + a - k * _WEEK, t + s - k * _WEEK) for k in lags]
            chances.append(_chance_of_none(robust_baseline(counts)))
            if chances[-1] > config.silence_alpha:
                return None
    base = robust_baseline(_shifted(series, start, t, lags, 0, end_only=True))
    hours = t - start
    return _Finding(
        "volume_silence", "missing", 0, base, base.z(0), end - hours * _HOUR, end,
        f"{partner} has sent no {_noun(document_type)} {_since(series, start, end)} ({hours} h); "
        f"the same hours of a normal week have {_fmt(base.median)} ± {_fmt(base.spread)}",
        True, {"weeks": len(lags), "window_hours": hours, "p_value": float(f"{max(chances):.3g}")})


def _volume(series: _Series, partner: str, document_type: str, t: int, end: datetime,
            config: AnomalyConfig) -> list[_Finding]:
    """At most one drop (or silence) and one spike. A finding must hold against the baseline
    moved up to ``timing_slack_hours`` either way, so a batch that runs an hour late (or a
    morning that starts an hour early) is not an anomaly; a drop must also have held an hour
    ago."""
    weekday = _WEEKDAYS[end.weekday()]
    noun = _noun(document_type)
    quiet = end.date() in config.holidays
    slack = range(-config.timing_slack_hours, config.timing_slack_hours + 1)
    low: _Finding | None = None
    spike: _Finding | None = None
    # (a) the day so far, against the same weekday's count by the same hour
    day_start = t - end.hour
    lags = _lags(series, day_start - config.timing_slack_hours, t + config.timing_slack_hours, config)
    if end.hour and not quiet and len(lags) >= config.min_weeks:
        observed = series.total(series.received, day_start, t)
        base = robust_baseline(_shifted(series, day_start, t, lags, 0, end_only=True))
        if (_is_drop(observed, base, config.min_day_expected, config)
                and _low(series, day_start, t, lags, config.min_day_expected, config, end_only=True)):
            z = base.z(observed)
            low = _Finding(
                "volume_day", "missing" if observed == 0 else "drop", observed, base, z,
                end - end.hour * _HOUR, end,
                f"{partner} sent {observed or 'no'} {noun} by {end:%H}:00; a normal {weekday} has "
                f"{_fmt(base.median)} ± {_fmt(base.spread)}",
                z <= -2 * config.z_threshold, {"weeks": len(lags)})
    # (b) no document at all since the last one
    if low is None and not quiet:
        low = _silence(series, partner, document_type, t, end, config)
    # (c) trailing windows, against the same hours of the week, both directions; the count
    # against the unmoved baseline first, which rules most windows out cheaply
    for w in sorted(set(config.drop_window_hours) | set(config.spike_window_hours)):
        lags = _lags(series, t - w - config.timing_slack_hours, t + config.timing_slack_hours, config)
        if len(lags) < config.min_weeks:
            continue
        observed = series.total(series.received, t - w, t)
        counts = _shifted(series, t - w, t, lags, 0, end_only=False)
        base = robust_baseline(counts)
        is_low = (low is None and not quiet and w in config.drop_window_hours
                  and _is_drop(observed, base, config.min_window_expected, config)
                  and not _touches_holiday(series, t - w, t, config.holidays)
                  and _low(series, t - w, t, lags, config.min_window_expected, config, end_only=False))
        is_spike = (spike is None and w in config.spike_window_hours
                    and _is_spike(observed, base, counts, config)
                    and all(_is_spike(observed, robust_baseline(moved), moved, config)
                            for moved in (_shifted(series, t - w, t, lags, s, end_only=False)
                                          for s in slack if s)))
        if not (is_low or is_spike):
            continue
        z = base.z(observed)
        start = end - w * _HOUR
        span = (f"between {start:%H}:00 and {end:%H}:00" if w < 24 else
                f"in the {w} h {_since(series, t - w, end)}")
        normal = (f"a normal {weekday} has {_fmt(base.median)} ± {_fmt(base.spread)}" if w < 24 else
                  f"the same hours of a normal week have {_fmt(base.median)} ± {_fmt(base.spread)}")
        extra = {"weeks": len(lags), "window_hours": w}
        if is_low:
            low = _Finding("volume_window", "missing" if observed == 0 else "drop", observed, base, z,
                           start, end, f"{partner} sent {observed or 'no'} {noun} {span}; {normal}",
                           z <= -2 * config.z_threshold, extra)
        if is_spike:
            ratio = f" ({observed / base.median:.1f}×)" if base.median else ""
            spike = _Finding("volume_window", "spike", observed, base, z, start, end,
                             f"{partner} sent {observed} {noun} {span}; {normal}{ratio}",
                             z >= 2 * config.z_threshold, extra)
    return [f for f in (low, spike) if f]


def _duplicates(series: _Series, partner: str, document_type: str, t: int, end: datetime,
                config: AnomalyConfig) -> _Finding | None:
    """Documents sent again: over each trailing window of ``duplicate_window_hours``, the
    duplicates among the documents received as a binomial count against the flow's usual
    share (one share per each of the ``baseline_weeks`` weeks before the window: their median
    plus their spread, at least ``duplicate_floor``). Resends come in bursts (a timeout
    resends a whole batch), so both counts are divided by the usual burst size first: the
    duplicates of an hour that has any, weighted by themselves (their sum of squares over
    their sum), the median over the weeks. The most improbable window is reported.

    Where the count finds nothing, resends that go on hour after hour (``_resend_hours``) or
    come where the flow normally has nothing (``_resends_where_none``) are a storm too.

    Its metric is a volume metric (``volume_duplicates``) with the key of a volume spike: a
    resend storm is a spike whose cause the hub knows, and it replaces the plain spike."""
    best: tuple[float, int, int, int, Baseline, int, int, float] | None = None
    for w in config.duplicate_window_hours:
        bad = series.total(series.dups, t - w, t)
        if bad < config.min_duplicates:
            continue
        n = series.total(series.received, t - w, t) + bad
        shares, bursts, docs, resent = [], [], 0, 0
        for k in range(1, config.baseline_weeks + 1):
            a, b = t - w - k * _WEEK, t - w - (k - 1) * _WEEK
            if a < 0:
                break
            week_dups = series.total(series.dups, a, b)
            week_docs = series.total(series.received, a, b) + week_dups
            if week_docs:
                shares.append(week_dups / week_docs)
                if week_dups:
                    bursts.append(series.total(series.dups_squared, a, b) / week_dups)
                docs, resent = docs + week_docs, resent + week_dups
        if len(shares) < config.min_weeks:
            continue
        base = robust_baseline(shares, counts=False, floor=config.duplicate_floor)
        burst = max(median(bursts), 1.0) if bursts else 1.0
        p_value = binomial_tail(math.floor(bad / burst), math.ceil(n / burst), min(base.median + base.spread, 1.0))
        if p_value <= config.duplicate_alpha and (best is None or p_value < best[0]):
            best = (p_value, w, bad, n, base, docs, resent, burst)
    if best is None:
        return (_resend_hours(series, partner, document_type, t, end, config)
                or _resends_where_none(series, partner, document_type, t, end, config))
    p_value, w, bad, n, base, docs, resent, burst = best
    start = end - w * _HOUR
    noun = _noun(document_type)
    usual = (f"normally 1 in {docs / resent:.0f} {noun} is a resend" if resent else
             f"none of its {docs} {noun} of the {base.samples} weeks before was a resend")
    rate = bad / n
    return _Finding(
        "volume_duplicates", "spike", rate, base, (rate - base.median) / base.spread, start, end,
        f"{partner} resent {bad} {noun} it had already sent between {start:%H}:00 and {end:%H}:00 "
        f"({bad} of {n}); {usual}",
        rate >= 0.5, {"documents": n, "count": bad, "p_value": float(f"{p_value:.3g}"), "weeks": base.samples,
                      "window_hours": w, "usual_burst": round(burst, 2), "baseline_documents": docs,
                      "baseline_duplicates": resent})


def _resend_hours(series: _Series, partner: str, document_type: str, t: int, end: datetime,
                  config: AnomalyConfig) -> _Finding | None:
    """Resends that go on hour after hour: over each trailing window of
    ``duplicate_hours_windows`` (every length from 3 to 12 hours, so that some window starts
    where the storm did), the hours with resends among the hours with documents as a
    binomial count against the share of the flow's hours with documents that had a resend in
    the ``baseline_weeks`` before the window (at least ``duplicate_hours_floor``). A timeout
    resending a batch is one hour however big the batch, so a small flow's storm of a few
    resends an hour is seen where the count of resends, divided by the usual burst, is not.
    The resends must also be at least ``min_duplicate_hours_share`` of the window's documents:
    on a busy flow an hour of many documents often holds a resend or two.
    The most improbable window is reported, with the key of a volume spike."""
    longest = max(config.duplicate_hours_windows)
    if series.total(series.dups, t - longest, t) < config.min_duplicates:
        return None
    best: tuple[float, int, int, int, float, int] | None = None
    for w in config.duplicate_hours_windows:
        bad = series.total(series.dups, t - w, t)
        hours = series.total(series.dup_hours, t - w, t)
        if (bad < config.min_duplicates or hours < config.min_duplicate_hours
                or bad < config.min_duplicate_hours_share * (series.total(series.received, t - w, t) + bad)):
            continue
        a, b = max(t - w - config.baseline_weeks * _WEEK, 0), t - w
        if b - a < config.min_weeks * _WEEK:
            continue
        busy, resending = series.total(series.active, a, b), series.total(series.dup_hours, a, b)
        usual = max(resending / busy if busy else 1.0, config.duplicate_hours_floor)
        n = series.total(series.active, t - w, t)
        p_value = binomial_tail(hours, n, usual)
        if p_value <= config.duplicate_hours_alpha and (best is None or p_value < best[0]):
            best = (p_value, w, hours, n, usual, bad)
    if best is None:
        return None
    p_value, w, hours, n, usual, bad = best
    first = next(i for i in range(t - w, t) if series.total(series.active, i, i + 1))
    start = end - (t - first) * _HOUR
    docs = series.total(series.received, t - w, t) + bad
    noun = _noun(document_type)
    share = hours / n
    return _Finding(
        "volume_duplicates", "spike", share, Baseline(round(usual, 4), round(math.sqrt(usual * (1 - usual) / n), 4),
                                                      config.baseline_weeks),
        (share - usual) / math.sqrt(usual * (1 - usual) / n), start, end,
        f"{partner} resent {noun} it had already sent in {hours} of its {n} hours with {noun} since "
        f"{start:%H}:00 ({bad} of {docs}); normally 1 hour in {1 / usual:.0f} has a resend",
        share >= 0.5 and bad >= docs / 2,
        {"documents": docs, "count": bad, "hours_with_resends": hours, "hours_with_documents": n,
         "p_value": float(f"{p_value:.3g}"), "window_hours": w, "usual_hour_share": round(usual, 4)})


def _resends_where_none(series: _Series, partner: str, document_type: str, t: int, end: datetime,
                        config: AnomalyConfig) -> _Finding | None:
    """Resends alone beyond all the flow usually sends at these hours, new and resent: the
    spike check (``_is_spike``, the baseline moved an hour either way) on the resends of each
    trailing window of ``duplicate_window_hours``, in at least ``min_duplicate_hours`` hours
    (two timeouts resending 5 documents each are no storm). Invoices resent all morning where the
    invoice batch comes in the evening are a storm, however bursty the flow's resends are."""
    for w in config.duplicate_window_hours:
        bad = series.total(series.dups, t - w, t)
        if bad < config.small_spike_excess or series.total(series.dup_hours, t - w, t) < config.min_duplicate_hours:
            continue  # too few, or one or two timeouts' bursts
        lags = _lags(series, t - w - config.timing_slack_hours, t + config.timing_slack_hours, config)
        if len(lags) < config.min_weeks:
            continue
        moved = [_shifted(series, t - w, t, lags, s, end_only=False, prefix=series.sent)
                 for s in range(-config.timing_slack_hours, config.timing_slack_hours + 1)]
        if not all(_is_spike(bad, robust_baseline(counts), counts, config) for counts in moved):
            continue
        base = robust_baseline(moved[config.timing_slack_hours])
        start = end - w * _HOUR
        noun = _noun(document_type)
        docs = series.total(series.received, t - w, t) + bad
        return _Finding(
            "volume_duplicates", "spike", bad, base, base.z(bad), start, end,
            f"{partner} resent {bad} {noun} it had already sent between {start:%H}:00 and {end:%H}:00 "
            f"({bad} of {docs}); a normal {_WEEKDAYS[end.weekday()]} has {_fmt(base.median)} ± "
            f"{_fmt(base.spread)} {noun} at these hours, new or resent",
            base.z(bad) >= 2 * config.z_threshold,
            {"documents": docs, "count": bad, "weeks": len(lags), "window_hours": w})
    return None
