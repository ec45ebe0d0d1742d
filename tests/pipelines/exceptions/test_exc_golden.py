"""Golden documents beside the detections expected from them (golden/detections/*.json).

Regenerate after an intended change with ``CROSSDOCK_UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import json
import os

import pytest
from exc_support import GOLDEN, TODAY, context, golden, refdata

from pipelines.exceptions import detect_all, validate_document

EXPECTED = GOLDEN / "detections"

# (scenario, document, held documents, confirmed 855s, partner)
SCENARIOS = [
    ("po_shortage", "po_shortage", (), (), "ACME"),
    ("po_negative_stock", "po_negative_stock", (), (), "ACME"),
    ("po_price", "po_price", (), (), "ACME"),
    ("po_credit_hold", "po_credit_hold", (), (), "BOLT"),
    ("po_over_limit", "po_over_limit", (), (), "CRAM"),
    ("po_dup_content", "po_dup_content", ("po_clean",), (), "ACME"),
    ("ack_changed", "ack_changed", ("po_to_supplier",), ("ack_ok",), "SUPPLY"),
    ("asn_variance", "asn_variance", ("po_to_supplier",), (), "SUPPLY"),
    ("asn_over", "asn_over", ("po_to_supplier",), (), "SUPPLY"),
    ("inv_mismatch", "inv_mismatch", ("po_to_supplier", "asn_full"), (), "SUPPLY"),
    ("inv_dup_bill", "inv_dup_bill", ("po_to_supplier", "asn_full", "inv_ok"), (), "SUPPLY"),
]


def _check(name: str, actual: object) -> None:
    path = EXPECTED / f"{name}.json"
    text = json.dumps(actual, indent=2, ensure_ascii=False) + "\n"
    if os.environ.get("CROSSDOCK_UPDATE_GOLDEN"):
        EXPECTED.mkdir(exist_ok=True)
        path.write_text(text)
    assert json.loads(path.read_text()) == actual, f"{path.name} differs; see the module docstring"


@pytest.mark.parametrize(("name", "doc", "held", "confirmed", "partner"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_detections_match_golden(name, doc, held, confirmed, partner):
    found = detect_all(golden(doc), context(*held, confirmed=confirmed, partner=partner))
    assert found, "a golden scenario must trip at least one detector"
    _check(name, [d.as_dict() for d in found])


def test_validation_matches_golden():
    report = validate_document(golden("po_validation"), refdata(), today=TODAY)
    _check("po_validation.findings", [f.as_dict() for f in report.findings])
