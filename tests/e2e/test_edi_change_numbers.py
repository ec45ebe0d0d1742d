"""A buyer that numbers its EDIFACT order changes its own way (ORDCHG BGM 1004 not ``<po>-<n>``).

Each change keeps the buyer's number: two changes of one order are two documents (not a
resend of the first, not a duplicate-order case), a resend of one of them is recognised as
that change, and each answer (ORDRSP, BGM 1225 4) names its change by the buyer's number in
RFF+CR.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.edi_support import outbound, received
from tests.support.hubproc import HubProcess

pytestmark = pytest.mark.slow

GOLDEN = Path(__file__).resolve().parents[1] / "mappings" / "golden"
BUYER = "4012345000009"


def _interchange(name: str, control: int, *, change_number: str | None = None, quantity: str = "18") -> bytes:
    text = (GOLDEN / name).read_text()
    text = text.replace("+261123:1200+11'", f"+261123:1200+{control}'").replace("UNZ+1+11'", f"UNZ+1+{control}'")
    text = text.replace("+261123:1200+13'", f"+261123:1200+{control}'").replace("UNZ+1+13'", f"UNZ+1+{control}'")
    if change_number is not None:
        text = text.replace("BGM+230+PO-8812-2+4'", f"BGM+230+{change_number}+4'")
        text = text.replace("QTY+21:18:CT'", f"QTY+21:{quantity}:CT'")
    return text.encode()


def _post(hub: HubProcess, body: bytes) -> None:
    r = hub.client.post("/api/v1/inbound/edi", content=body, headers={"Content-Type": "application/edifact"})
    assert r.status_code in (200, 201, 202), r.text


def _answers_to_changes(hub: HubProcess) -> list[str]:
    raws = [hub.client.get(f"/api/v1/edi/outbound/{o['id']}/raw").text
            for o in outbound(hub, partner="KAUFHAUS") if o["set_id"] == "ORDRSP"]
    return sorted(r for r in raws if "BGM+231+" in r and "RFF+CR:" in r)


def test_changes_numbered_by_the_buyer_are_each_applied_and_answered_by_their_number(hub: HubProcess) -> None:
    hub.add_partner("KAUFHAUS", role="customer", edi={
        "standard": "edifact", "interchange_id": BUYER, "our_interchange_id": "4098765000002",
        "transport": "mailbox", "auto_respond": ["855", "865"]})
    _post(hub, _interchange("edifact_ORDERS_D96A.edi", 11))
    hub.wait_for(lambda: len(received(hub, partner="KAUFHAUS")) == 1)
    _post(hub, _interchange("edifact_ORDCHG_D96A.edi", 21, change_number="CHG-A-0042", quantity="18"))
    hub.wait_for(lambda: len(received(hub, partner="KAUFHAUS")) == 2)
    _post(hub, _interchange("edifact_ORDCHG_D96A.edi", 22, change_number="CHG-A-0043", quantity="12"))
    hub.wait_for(lambda: len(received(hub, partner="KAUFHAUS")) == 3)
    # the first change sent again, in a new interchange: the same change, not a third one
    _post(hub, _interchange("edifact_ORDCHG_D96A.edi", 23, change_number="CHG-A-0042", quantity="18"))
    rows = hub.wait_for(lambda: (lambda rs: rs if len(rs) == 4 else None)(received(hub, partner="KAUFHAUS")))

    docs = hub.client.get("/api/v1/documents", params={"business_key": f"{BUYER}/PO-8812"}).json()
    docs = docs["items"] if isinstance(docs, dict) else docs
    assert sorted(d["revision"] for d in docs) == ["0", "1", "1"]  # the order and its two changes
    changes = [d for d in docs if d["revision"] == "1"]
    numbers = {hub.client.get(f"/api/v1/documents/{d['id']}").json()["canonical"]["change_number"] for d in changes}
    assert numbers == {"CHG-A-0042", "CHG-A-0043"}
    assert [r["status"] for r in rows] == ["accepted"] * 4
    assert [n["rule"] for n in rows[1]["notes"] + rows[2]["notes"]] == []  # neither change taken for a resend
    assert [n["rule"] for n in rows[3]["notes"]] == ["duplicate-order"]  # the resend is
    cases = hub.client.get("/api/v1/cases", params={"type": "duplicate_order"}).json()
    cases = cases["items"] if isinstance(cases, dict) else cases
    assert [c for c in cases if c.get("type") == "duplicate_order"] == []

    answers = hub.wait_for(lambda: (lambda a: a if len(a) == 2 else None)(_answers_to_changes(hub)))
    assert ["RFF+CR:CHG-A-0042'" in a for a in answers].count(True) == 1
    assert ["RFF+CR:CHG-A-0043'" in a for a in answers].count(True) == 1
    assert all("BGM+231+SO-PO-8812+4+" in a for a in answers)  # each answers a change
