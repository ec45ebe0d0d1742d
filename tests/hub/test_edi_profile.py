"""The EDI profile's auto_respond 865: answering each change, in X12 (865) and EDIFACT (ORDRSP)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from canonical.documents import PurchaseOrder
from connectors.formats import edifact, x12
from hub.edi.outbound import queue_document
from hub.edi.profile import EdiProfile, edi_profile
from hub.edi.responses import confirm
from hub.storage.db import Database
from hub.storage.migrate import upgrade

DAY = date(2026, 11, 25)


def _edi(standard: str, **extra: Any) -> dict[str, Any]:
    return {"standard": standard, "interchange_id": "SHOP", "our_interchange_id": "XD", **extra}


@pytest.mark.parametrize("standard", ["x12", "edifact"])
def test_auto_respond_865_answers_changes_in_either_standard(standard: str) -> None:
    edi = EdiProfile.model_validate(_edi(standard, auto_respond=["855", "865"]))
    assert edi.auto_respond == ["855", "865"]
    assert edi_profile({"id": "SHOP", "edi": _edi(standard, auto_respond=["865"])}) is not None


@pytest.mark.parametrize("standard", ["x12", "edifact"])
def test_existing_profiles_read_as_before(standard: str) -> None:
    assert EdiProfile.model_validate(_edi(standard)).auto_respond == []
    edi = EdiProfile.model_validate(_edi(standard, auto_respond=["855", "856", "810"]))
    assert edi.auto_respond == ["855", "856", "810"]


@pytest.mark.parametrize("value", ["ORDRSP", "860", "997"])
def test_auto_respond_still_refuses_what_it_does_not_know(value: str) -> None:
    with pytest.raises(ValidationError, match="auto_respond"):
        EdiProfile.model_validate(_edi("edifact", auto_respond=[value]))


def test_the_field_description_says_what_865_means_for_edifact() -> None:
    text = EdiProfile.model_fields["auto_respond"].description or ""
    assert "ORDRSP to each ORDCHG" in text and "865 to each 860" in text


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'profile.db'}"
    upgrade(url)
    d = Database(url)
    yield d
    d.dispose()


def _change(revision: int) -> PurchaseOrder:
    return PurchaseOrder.model_validate({
        "po_number": "PO-9", "order_date": date(2026, 11, 23), "purpose": "change", "revision": revision,
        "currency": "EUR", "buyer": {"id": "SHOP"},
        "lines": [{"line_number": "2", "vendor_item": "W-2", "quantity": "6", "uom": "EA",
                   "unit_price": "4.15", "change": "change"},
                  {"line_number": "3", "vendor_item": "W-3", "quantity": "1", "uom": "EA",
                   "unit_price": "1.00", "change": "delete"}]})


@pytest.mark.parametrize(("standard", "auto_respond", "set_id"), [
    ("x12", ["855", "865"], "865"),
    ("x12", ["855"], "855"),  # an X12 partner that did not ask for 865s gets its 855 vocabulary
    ("edifact", ["855", "865"], "ORDRSP"),
])
def test_the_answer_to_a_change_goes_out_in_the_partner_standard(
        db: Database, standard: str, auto_respond: list[str], set_id: str) -> None:
    partner = {"id": "SHOP", "edi": _edi(standard, auto_respond=auto_respond)}
    ack = confirm(_change(2), on=DAY, seller_id="XD")
    assert [ln.line_number for ln in ack.lines] == ["2"]  # the deleted line is left out
    with db.session() as s:
        row = queue_document(s, partner, ack)
        assert row.set_id == set_id
        raw = bytes(row.raw)
    [ic] = list((edifact if standard == "edifact" else x12).read(raw))
    [tx] = ic.transactions()
    assert tx.set_id == set_id
    if standard == "edifact":
        seg = {s.tag: s for s in reversed(tx.segments)}  # the first of each tag
        assert [c[0] for c in seg["BGM"].elements] == [["231"], ["SO-PO-9"], ["4"], ["AP"]]
        refs = [s.elements[0][0] for s in tx.segments if s.tag == "RFF"]
        assert refs == [["ON", "PO-9"], ["CR", "PO-9-2"]]
        assert [s.elements[:2] for s in tx.segments if s.tag == "LIN"] == [[[["2"]], [["5"]]]]


def test_the_answer_to_an_edifact_order_is_still_an_original(db: Database) -> None:
    partner = {"id": "SHOP", "edi": _edi("edifact", auto_respond=["855", "865"])}
    order = PurchaseOrder.model_validate({
        "po_number": "PO-9", "order_date": date(2026, 11, 23), "currency": "EUR", "buyer": {"id": "SHOP"},
        "lines": [{"line_number": "1", "vendor_item": "W-1", "quantity": "2", "uom": "EA"}]})
    ack = confirm(order, on=DAY, seller_id="XD")
    with db.session() as s:
        raw = bytes(queue_document(s, partner, ack).raw)
    [ic] = list(edifact.read(raw))
    [tx] = ic.transactions()
    bgm = next(s for s in tx.segments if s.tag == "BGM")
    assert bgm.elements[2] == [["9"]]
    assert [s.elements[0][0][0] for s in tx.segments if s.tag == "RFF"] == ["ON"]


def test_a_profiles_edi_section_is_validated_again_only_when_it_is_a_new_object(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading and answering an interchange ask for the partner's EDI section at several steps:
    the same section object is validated once; a partner read again (a new object, maybe changed)
    is validated again, and a section that stopped being valid reads as no EDI."""
    calls: list[Any] = []
    validate = EdiProfile.model_validate

    def counting(raw: Any, *args: Any, **kwargs: Any) -> EdiProfile:
        calls.append(raw)
        return validate(raw, *args, **kwargs)

    monkeypatch.setattr(EdiProfile, "model_validate", counting)
    partner = {"id": "CACHEBUY", "edi": {"standard": "x12", "interchange_id": "CB", "our_interchange_id": "US"}}
    first = edi_profile(partner)
    assert first is not None and edi_profile(partner) is first and len(calls) == 1
    reread = {"id": "CACHEBUY", "edi": {**partner["edi"], "standard": "edifact", "interchange_id": "CB2"}}
    changed = edi_profile(reread)
    assert changed is not None and (changed.standard, changed.interchange_id) == ("edifact", "CB2")
    assert len(calls) == 2
    broken = {"id": "CACHEBUY", "edi": {"standard": "carrier pigeon"}}
    assert edi_profile(broken) is None and edi_profile(broken) is None and len(calls) == 3
    other = {"id": "OTHERBUY", "edi": partner["edi"]}  # another partner: its own entry
    assert edi_profile(other) is not None and edi_profile(partner) is not None and len(calls) == 5
