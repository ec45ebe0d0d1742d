"""Time-based detectors: fire past the limit, quiet before it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from pipelines.exceptions import PartnerRules, Severity
from pipelines.exceptions.detectors import (
    CarrierFailure,
    Expectation,
    FlowWindow,
    OpenShipment,
    OpenTransfer,
    WaitingRevision,
    detect_carrier_failure,
    detect_flow_anomalies,
    detect_overdue_documents,
    detect_uninvoiced_shipments,
    detect_unreceived_transfers,
    detect_waiting_revisions,
)

NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
PARTNERS = {"ACME": PartnerRules("ACME", sla_hours={"997": 2, "855": 24, "856": 48, "810": 72},
                                 fallback_carrier="FDEG", invoice_after_days=2, revision_wait_hours=1)}
PO = "purchase_order ACME/PO-1 rev 0"


def ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


@pytest.mark.parametrize(("kind", "hours_ago", "expected"), [
    ("997", 1, None), ("997", 3, ("missing_997", Severity.MEDIUM)), ("997", 5, ("missing_997", Severity.HIGH)),
    ("855", 23, None), ("855", 25, ("missing_855", Severity.MEDIUM)),
    ("856", 47, None), ("856", 49, ("missing_856", Severity.MEDIUM)),
    ("810", 71, None), ("810", 73, ("missing_810", Severity.LOW)),
])
def test_overdue_documents(kind, hours_ago, expected):
    found = detect_overdue_documents([Expectation(kind, "ACME", PO, ago(hours_ago), Decimal("640.00"), "USD")],
                                     now=NOW, partners=PARTNERS)
    assert [(d.code, d.severity) for d in found] == ([expected] if expected else [])
    for d in found:
        assert d.message.startswith(PO) and d.evidence["hours_overdue"] > 0
        assert d.amount_at_risk == Decimal("640.00")


def test_overdue_uses_default_sla_for_unknown_partner():
    found = detect_overdue_documents([Expectation("997", "OTHER", PO, ago(5))], now=NOW, partners=PARTNERS)
    assert [d.evidence["sla_hours"] for d in found] == [4]


@pytest.mark.parametrize(("days_ago", "fires"), [(1, False), (3, True)])
def test_uninvoiced_shipments(days_ago, fires):
    found = detect_uninvoiced_shipments([OpenShipment("SH-1", "ACME", NOW - timedelta(days=days_ago))],
                                        now=NOW, partners=PARTNERS)
    assert [d.code for d in found] == (["shipment_not_invoiced"] if fires else [])


@pytest.mark.parametrize(("days_ago", "transit", "fires"), [(4, None, False), (6, None, True), (2, 1, True)])
def test_unreceived_transfers(days_ago, transit, fires):
    t = OpenTransfer("TR-7", "EAST", "WEST", NOW - timedelta(days=days_ago), transit_days=transit)
    found = detect_unreceived_transfers([t], now=NOW)
    assert [d.code for d in found] == (["transfer_not_received"] if fires else [])
    if fires:
        assert "EAST" in found[0].message and "WEST" in found[0].message


@pytest.mark.parametrize(("hours_ago", "fires"), [(0.5, False), (2, True)])
def test_waiting_revisions(hours_ago, fires):
    found = detect_waiting_revisions([WaitingRevision("purchase_order ACME/PO-1 rev 2", "ACME", 2, ago(hours_ago))],
                                     now=NOW, partners=PARTNERS)
    assert [d.code for d in found] == (["revision_waiting_for_original"] if fires else [])


def test_carrier_failure_names_the_fallback_carrier():
    failure = CarrierFailure("UPSN", "create_label", "HTTP 503", NOW, "ACME", "SH-1", consecutive_failures=3)
    (found,) = detect_carrier_failure(failure, PARTNERS["ACME"])
    assert found.code == "carrier_api_failure" and found.severity is Severity.HIGH
    assert "fallback carrier FDEG" in found.message
    assert found.evidence["recommended_action"] == "switch_to_fallback_carrier"


@pytest.mark.parametrize("fallback", [None, "UPSN"])
def test_carrier_failure_without_usable_fallback_is_critical(fallback):
    failure = CarrierFailure("UPSN", "rate", "timeout", NOW, "ACME")
    (found,) = detect_carrier_failure(failure, PartnerRules("ACME", fallback_carrier=fallback))
    assert found.severity is Severity.CRITICAL
    assert found.evidence["recommended_action"] == "retry_carrier_later"


@pytest.mark.parametrize(("observed", "expected", "result"), [
    (10, "10", None), (6, "10", None), (4, "10", Severity.MEDIUM), (25, "10", Severity.MEDIUM),
    (0, "10", Severity.HIGH), (0, "2", None),
])
def test_flow_anomalies(observed, expected, result):
    w = FlowWindow("ACME", "purchase_order", ago(24), NOW, observed, Decimal(expected))
    found = detect_flow_anomalies([w])
    assert [d.severity for d in found] == ([result] if result else [])


def test_partner_rules_from_a_profile_section():
    rules = PartnerRules.from_profile({"id": "ACME", "name": "Acme", "exceptions": {
        "fallback_carrier": "FDEG", "sla_hours": {"855": 12}, "over_ship_tolerance_percent": "2.5"}})
    assert (rules.partner_id, rules.fallback_carrier) == ("ACME", "FDEG")
    assert rules.sla_hours == {"997": 4, "855": 12, "856": 48, "810": 120}
    assert rules.over_ship_tolerance_percent == Decimal("2.5")
    assert PartnerRules.from_profile({"id": "X"}) == PartnerRules("X")


def test_partner_rules_errors_name_the_fields():
    from canonical.errors import ConfigurationError

    with pytest.raises(ConfigurationError) as err:
        PartnerRules.from_profile({"id": "ACME", "exceptions": {"ship_complete": "maybe", "colour": "red"}})
    assert [f.path for f in err.value.findings] == ["exceptions.colour", "exceptions.ship_complete"]
    assert err.value.partner == "ACME"
