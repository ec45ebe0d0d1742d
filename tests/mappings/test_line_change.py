"""The line's change verb of an 860: POC02 read into ``change``, an unknown code a finding."""

from __future__ import annotations

import pytest

from canonical.errors import ValidationFailed
from connectors.formats import x12
from mappings.engine import map_transaction

ISA = ("ISA*00*          *00*          *ZZ*MOCKEDI        *ZZ*CROSSDOCK      "
       "*261123*1200*U*00401*000000001*0*T*>~")


def _read(*lines: str):  # type: ignore[no-untyped-def]
    segs = ["ST*860*0001", "BCH*04*SA*PO-1**1*20261123", "N1*BY*Buyer*92*B1", *lines, f"CTT*{len(lines)}"]
    segs.append(f"SE*{len(segs) + 1}*0001")
    data = "\n".join([ISA, "GS*PC*MOCKEDI*CROSSDOCK*20261123*1200*1*X*004010~",
                      *(s + "~" for s in segs), "GE*1*1~", "IEA*1*000000001~"]).encode()
    [ic] = list(x12.read(data))
    [group] = ic.groups
    [tx] = group.transactions
    return lambda: map_transaction(ic, group, tx, partner="ACME")


@pytest.mark.parametrize(("code", "change"), [("CA", "change"), ("QD", "change"), ("QI", "change"),
                                               ("PC", "change"), ("CT", "change"), ("NC", "change"),
                                               ("DI", "delete"), ("AI", "add")])
def test_poc02_is_the_line_change(code: str, change: str) -> None:
    po = _read(f"POC*1*{code}*5**EA*1.00**VP*W-1")()
    assert [ln.change for ln in po.lines] == [change]


def test_a_code_outside_670_is_a_finding_not_a_silent_change() -> None:
    with pytest.raises(ValidationFailed) as err:
        _read("POC*1*XX*5**EA*1.00**VP*W-1")()
    [f] = err.value.findings
    assert (f.segment_id, f.element_position, f.path, f.code) == ("POC", 2, "lines[0].change", "invalid_code")
