"""The taxonomy table and the modules' documented examples."""

from __future__ import annotations

import doctest
import importlib

import pytest

from pipelines.exceptions import ACTIONS, TAXONOMY, Category, Owner, Severity, exception_type

REQUIRED = ["inventory_shortage", "negative_available_stock", "price_discrepancy", "credit_hold", "duplicate_order", "asn_short_shipment", "asn_over_shipment", "asn_substituted_item", "asn_unknown_item", "asn_wrong_ship_to", "ack_changed_after_confirmation", "invoice_quantity_mismatch", "invoice_price_mismatch", "invoice_totals_mismatch", "duplicate_invoice", "shipment_not_invoiced", "transfer_not_received", "missing_997", "missing_855", "missing_856", "missing_810", "carrier_api_failure", "unknown_item", "unknown_ship_to", "unknown_unit", "revision_waiting_for_original", "flow_anomaly"]


def test_every_required_code_is_present_once():
    codes = [t.code for t in TAXONOMY]
    assert len(codes) == len(set(codes))
    assert set(REQUIRED) <= set(codes)


@pytest.mark.parametrize("row", TAXONOMY, ids=lambda t: t.code)
def test_rows_are_complete(row):
    assert row.title and row.sla_hours > 0 and row.actions
    assert isinstance(row.category, Category) and isinstance(row.severity, Severity)
    assert isinstance(row.owner, Owner)
    assert all(a.description for a in row.actions)


@pytest.mark.parametrize(("code", "owner", "first_action"), [
    ("unknown_item", Owner.MASTER_DATA, "create_item_master"),
    ("carrier_api_failure", Owner.INTEGRATION, "switch_to_fallback_carrier"),
    ("inventory_shortage", Owner.CUSTOMER_SERVICE, "split_ship_from_alternate_warehouse"),
    ("credit_hold", Owner.CREDIT, "hold_for_credit_review"),
    ("missing_855", Owner.PURCHASING, "request_855_again"),
])
def test_lookup(code, owner, first_action):
    row = exception_type(code)
    assert (row.owner, row.action_names[0]) == (owner, first_action)


def test_unknown_code_names_the_known_ones():
    with pytest.raises(KeyError, match="unknown exception code 'nope'.*credit_hold"):
        exception_type("nope")


def test_every_action_is_recommended_somewhere():
    used = {n for t in TAXONOMY for n in t.action_names}
    assert used == set(ACTIONS)


def test_severity_raises_and_caps():
    assert Severity.LOW.raised() is Severity.MEDIUM and Severity.HIGH.raised(5) is Severity.CRITICAL


@pytest.mark.parametrize("module", [
    "pipelines.refdata", "pipelines.exceptions.taxonomy", "pipelines.exceptions.model",
    "pipelines.exceptions.scoring", "pipelines.exceptions.policies", "pipelines.exceptions.detectors",
])
def test_documented_examples_run(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
