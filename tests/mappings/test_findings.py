"""Invalid mapped data raises ValidationFailed naming the segment, the element and the field."""

from __future__ import annotations

import pytest

from canonical.errors import ValidationFailed
from connectors.formats import edifact, x12
from mappings.engine import map_transaction

ISA = ("ISA*00*          *00*          *ZZ*MOCKEDI        *ZZ*CROSSDOCK      "
       "*261123*1200*U*00401*000000001*0*T*>~")


def _x12(*body: str) -> bytes:
    segs = ["ST*850*0001", *body]
    segs.append(f"SE*{len(segs) + 1}*0001")
    return "\n".join([ISA, "GS*PO*MOCKEDI*CROSSDOCK*20261123*1200*1*X*004010~",
                      *(s + "~" for s in segs), "GE*1*1~", "IEA*1*000000001~"]).encode()


def _fail(data: bytes, codec=x12) -> ValidationFailed:  # type: ignore[no-untyped-def]
    [ic] = list(codec.read(data))
    [group] = ic.groups
    [tx] = group.transactions
    with pytest.raises(ValidationFailed) as err:
        map_transaction(ic, group, tx, partner="ACME")
    assert err.value.partner == "ACME"
    return err.value


HEAD = ("BEG*00*SA*PO-1**20261123", "N1*BY*Buyer*92*B1")
LINES = ("PO1*1*1*EA*1.00**VP*W-1", "PO1*2*2*EA*1.00**VP*W-2", "PO1*3*3*EA*1.00**VP*W-3")


def test_missing_quantity_names_po102_and_the_line_field() -> None:
    err = _fail(_x12(*HEAD, *LINES, "PO1*4**EA*1.00**VP*W-4", "CTT*4"))
    [f] = err.findings
    assert (f.segment_id, f.segment_position, f.element_position) == ("PO1", 7, 2)
    assert f.path == "lines[3].quantity"
    assert "850 0001" in (err.document or "")


def test_zero_quantity_is_refused_at_its_element() -> None:
    [f] = _fail(_x12(*HEAD, "PO1*1*0*EA*1.00**VP*W-1")).findings
    assert (f.segment_id, f.element_position, f.path) == ("PO1", 2, "lines[0].quantity")
    assert f.value is None or f.value == "0"


def test_bad_date_names_the_element_and_the_field() -> None:
    [f] = _fail(_x12("BEG*00*SA*PO-1**20261341", "N1*BY*Buyer*92*B1", LINES[0])).findings
    assert (f.segment_id, f.segment_position, f.element_position) == ("BEG", 2, 5)
    assert f.path == "order_date" and f.value == "20261341"


def test_unknown_purpose_code_is_a_finding() -> None:
    [f] = _fail(_x12("BEG*99*SA*PO-1**20261123", "N1*BY*Buyer*92*B1", LINES[0])).findings
    assert (f.segment_id, f.element_position, f.path, f.code) == ("BEG", 1, "purpose", "invalid_code")


def test_line_without_any_item_number_points_at_its_po1() -> None:
    [f] = _fail(_x12(*HEAD, LINES[0], "PO1*2*5*EA*1.00")).findings
    assert f.path == "lines[1]" and f.segment_id == "PO1" and f.segment_position == 5


def test_missing_buyer_names_the_field() -> None:
    [f] = _fail(_x12("BEG*00*SA*PO-1**20261123", LINES[0])).findings
    assert f.path == "buyer"


def test_edifact_bad_gtin_names_pia_and_the_field() -> None:
    data = (b"UNA:+.? 'UNB+UNOC:3+B:14+S:14+261123:1200+1'UNH+1+ORDERS:D:96A:UN'"
            b"BGM+220+PO-1+9'DTM+137:20261123:102'NAD+BY+B1::92'"
            b"LIN+1++W-1:VP'PIA+1+4006381333932:EN'QTY+21:1:PCE'UNS+S'UNT+9+1'UNZ+1+1'")
    [f] = _fail(data, edifact).findings
    assert (f.segment_id, f.segment_position, f.element_position, f.component_position) == ("PIA", 6, 2, None)
    assert f.path == "lines[0].gtin"
