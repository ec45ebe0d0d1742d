"""A burst of one partner's interchanges: all read, each once, in the order they came, by several
workers at once, without waiting for a sweep.

A partner's interchanges are read in arrival order (an 855 before the 856 it confirms). With
several workers, one that takes an interchange whose predecessor is not read yet reads the
predecessor first, or waits for the worker that reads it; it used to put its own back until
the next sweep, so a burst crawled (a few interchanges a second) and burned the CPU on taking
and putting back. Here the sweep runs once an hour: an interchange put back would not come
back within the test.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.e2e.edi_support import received
from tests.support.hubproc import HubProcess

pytestmark = pytest.mark.slow

GOLDEN = Path(__file__).resolve().parents[1] / "mappings" / "golden" / "x12_850_004010.edi"
BURST = 40


@pytest.fixture
def hub_env() -> dict[str, str]:
    return {"CROSSDOCK_SCHEDULER_INTERVAL_SECONDS": "3600", "CROSSDOCK_WORKERS": "4"}


def _interchange(n: int) -> bytes:
    text = GOLDEN.read_text()
    return (text.replace("*000000001*0*T*", f"*{n:09d}*0*T*").replace("IEA*1*000000001", f"IEA*1*{n:09d}")
            .replace("PO-4711", f"PO-B{n:04d}")).encode()


def test_a_burst_from_one_partner_is_read_in_order_without_waiting_for_a_sweep(hub: HubProcess) -> None:
    hub.add_partner("MOCKBUY", role="customer", edi={
        "standard": "x12", "interchange_id": "MOCKEDI", "our_interchange_id": "CROSSDOCK", "transport": "mailbox"})
    bodies = [_interchange(n) for n in range(1, BURST + 1)]
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda body: hub.client.post(
            "/api/v1/inbound/edi", content=body, headers={"Prefer": "respond-async"}).status_code, bodies))
    assert codes == [202] * BURST

    def all_read() -> list[dict] | None:
        rows = received(hub, partner="MOCKBUY", limit=str(BURST * 2))
        return rows if len(rows) >= BURST else None
    rows = hub.wait_for(all_read, timeout=60)
    assert len(rows) == BURST  # each interchange read once
    assert {r["interchange_control"] for r in rows} == {f"{n:09d}" for n in range(1, BURST + 1)}
    assert all(r["status"] == "accepted" and r["document_id"] is not None for r in rows)
    # read in the order they arrived: the record of each reading follows its receipt's order
    by_reading = [r["inbox_id"] for r in sorted(rows, key=lambda r: r["id"])]
    assert by_reading == sorted(by_reading)
