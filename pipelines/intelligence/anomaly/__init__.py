"""Flow anomalies: each partner's traffic against its own recent weeks.

Four detectors, each a pure function of plain records and ``now``, each returning
``flow_anomaly`` detections whose message says what is unusual against what baseline:

- ``detect_flow_anomalies``: hourly ``FlowPoint`` rows per partner × document type. An hour
  without a row is an hour without traffic, which is how a flow that stops is seen. Checks,
  against the same weekday and hours of the previous ``baseline_weeks`` weeks:
  the day's count so far ("ACME sent 3 orders by 11:00; a normal Monday has 180 ± 25");
  silence since the last document ("FARMCO has sent no orders since Friday 15:00 (92 h); the
  same hours of a normal week have 8 ± 2.8"); the last 3, 6, 12, 24, 48 and 72 hours for
  drops ("FARMCO sent 6 orders in the 72 h since Sunday 18:00; the same hours of a normal
  week have 24 ± 4.9"), the last 3 hours also for spikes; resends, the documents the hub
  already had (``FlowPoint.duplicates``, apart from the new ones in ``received``), as a
  binomial count against the flow's usual share, counted in its usual bursts ("ACME resent
  45 orders it had already sent between 09:00 and 12:00 (45 of 105); normally 1 in 200
  orders is a resend"), or resends in most of the flow's recent hours ("FARMCO resent orders
  it had already sent in 5 of its 5 hours with orders since 09:00 (10 of 15); normally 1 hour
  in 25 has a resend"), or resends where the flow normally has nothing; the error and
  dead-letter rates among the documents received, new or resent, over the shortest recent
  window holding enough documents and the last 6, 12 and 24 hours; and the acknowledgment
  latency hour by hour (against the same hour of earlier days where earlier weeks had none;
  one batch hour is enough when it is far slower).
- ``detect_late_drift``: a supplier's ship notices against its own earlier lateness.
- ``detect_failing_lanes``: a carrier's failure rate on a lane against its earlier rate, over
  the last hours and the last day.
- ``detect_failing_sends``: the hub's own sends to a partner (``SendPoint``) failing over
  several hours far above the partner's usual rate: "ACME refused 14 of 14 of our sends since
  09:00 (normally 1 in 300 fails): its system looks down".

The code: ``stats`` (robust baselines, tail probabilities), ``model`` (records, thresholds,
detections), ``history`` (a flow's hourly arrays and baseline weeks), ``volume`` (day so far,
silence, windows, resends), ``flows`` (``detect_flow_anomalies``, error and latency checks),
``lanes`` (lanes and lateness), ``sends`` (the hub's sends).

Baselines are robust: median and MAD (× 1.4826, so it estimates a standard deviation), with
a floor on the spread (``max(MAD, √median, 1)`` for counts) so quiet flows do not alarm on
Poisson noise. A count fires only when every guard agrees: the robust z, a ratio to the
median (at most half for a drop, 1.8× for a spike), a minimum normal count, and a Poisson
tail (small counts are noisier than a normal curve says). A window with no document at all
is judged on the Poisson chance of zero alone, since a MAD from three weeks can be wide.
Silence since the last document is judged on the chance of nothing at all in those hours,
counting the week-to-week spread (a batch that sometimes runs late has a wide one). Counts
are compared with the baseline moved an hour either way, and a drop must have held an hour
ago too, so a batch that runs an hour late is not an anomaly. A flow with fewer than
``min_weeks`` weeks of history is not judged. Rates are tested as counts (a binomial tail
against the baseline rate), so 2 errors in 10 documents are not an error spike. Every
detection carries ``evidence["alert_key"]`` (partner, document type, metric, direction,
day): the hub opens one case per key, not one per pass; a silence or a long-window drop has
the key of any other drop that day. ``AnomalyConfig.holidays`` lists days with no business:
no drop is reported on them, no window that touches one is used as a baseline, and silence
is judged from the end of the last one.

Days and hours are UTC.

Usage:
    history = FlowHistory(points)                 # rows of the last baseline_weeks + 1 weeks
    for found in detect_flow_anomalies(history, now=now):
        open_case_once(found.evidence["alert_key"], found)
"""

from __future__ import annotations

from pipelines.intelligence.anomaly.flows import detect_flow_anomalies
from pipelines.intelligence.anomaly.history import FlowHistory
from pipelines.intelligence.anomaly.lanes import (
    LaneHistory,
    detect_failing_lanes,
    detect_late_drift,
)
from pipelines.intelligence.anomaly.model import (
    AnomalyConfig,
    CarrierAttempt,
    FlowPoint,
    LatenessObservation,
)
from pipelines.intelligence.anomaly.sends import SendHistory, SendPoint, detect_failing_sends
from pipelines.intelligence.anomaly.stats import (
    Baseline,
    binomial_tail,
    poisson_cdf,
    poisson_tail,
    robust_baseline,
)

__all__ = [
    "AnomalyConfig",
    "Baseline",
    "CarrierAttempt",
    "FlowHistory",
    "FlowPoint",
    "LaneHistory",
    "LatenessObservation",
    "SendHistory",
    "SendPoint",
    "binomial_tail",
    "detect_failing_lanes",
    "detect_failing_sends",
    "detect_flow_anomalies",
    "detect_late_drift",
    "poisson_cdf",
    "poisson_tail",
    "robust_baseline",
]
