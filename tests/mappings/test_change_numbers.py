"""An EDIFACT order change's own number (ORDCHG BGM 1004): read, kept where it does not say the
revision, part of the key then, and written back in the ORDCHG and in the ORDRSP answering it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from canonical.documents import PurchaseOrder
from connectors.formats import edifact
from connectors.formats.segments import Segment
from hub.edi.responses import confirm
from mappings.engine import map_transaction, render

GOLDEN = (Path(__file__).resolve().parent / "golden" / "edifact_ORDCHG_D96A.edi").read_text()


def _read(number: str) -> PurchaseOrder:
    [ic] = list(edifact.read(GOLDEN.replace("BGM+230+PO-8812-2+4'", f"BGM+230+{number}+4'").encode()))
    [group] = ic.groups
    [tx] = group.transactions
    doc = map_transaction(ic, group, tx, partner="KAUFHAUS")
    assert isinstance(doc, PurchaseOrder)
    return doc


def _elements(segments: list[Segment], tag: str) -> list[list[list[str]]]:
    """Each ``tag`` segment as its elements' first repetitions (lists of components)."""
    return [[list(element[0]) for element in seg.elements] for seg in segments if seg.tag == tag]


def test_a_number_naming_the_revision_is_the_revision() -> None:
    doc = _read("PO-8812-3")
    assert (doc.revision, doc.change_number) == (3, None)
    assert doc.idempotency_key == PurchaseOrder.model_validate(
        doc.model_dump() | {"change_number": "PO-8812-3"}).idempotency_key  # the same document either way


@pytest.mark.parametrize("number", ["CHG-A-0042", "77123", "PO-8812-X"])
def test_a_buyer_numbered_change_keeps_its_number_and_is_told_apart_by_it(number: str) -> None:
    doc = _read(number)
    assert (doc.purpose.value, doc.revision, doc.change_number) == ("change", 1, number)
    other = _read(number + "9")
    assert other.revision == 1 and other.business_key == doc.business_key
    assert other.idempotency_key != doc.idempotency_key  # two changes, not one sent twice
    assert _read(number).idempotency_key == doc.idempotency_key  # the same change again is the same document
    assert doc.revision_of == 1  # what the hub files as the revision


def test_the_change_and_its_answer_carry_the_buyer_number_back() -> None:
    doc = _read("CHG-A-0042")
    [bgm] = _elements(render(doc, "edifact", "ORDCHG", "D96A"), "BGM")
    assert bgm[:3] == [["230"], ["CHG-A-0042"], ["4"]]
    ack = confirm(doc, on=date(2026, 11, 26), seller_id="4098765000002")
    assert ack.change_number == "CHG-A-0042"
    body = render(ack, "edifact", "ORDRSP", "D96A")
    assert ["CR", "CHG-A-0042"] in [e[0] for e in _elements(body, "RFF")]
    assert _elements(body, "BGM")[0][2] == ["4"]  # answering a change
    # an answer to a change numbered <po>-<revision> names it so, as before
    numbered = confirm(_read("PO-8812-2"), on=date(2026, 11, 26), seller_id="4098765000002")
    assert ["CR", "PO-8812-2"] in [e[0] for e in _elements(render(numbered, "edifact", "ORDRSP", "D96A"), "RFF")]
