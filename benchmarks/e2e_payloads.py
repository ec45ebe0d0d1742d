"""What the end-to-end benchmarks send: X12 850 interchanges (the default) or JSON purchase orders.

``x12``: 20-line 850s (``bench_decode.make_850``, a distinct interchange, group and PO number
each) from the customer ACMESTORES to ``POST /api/v1/inbound/edi``; the hub reads the
envelope, validates, maps and deduplicates each order and writes a 997 for it to the
partner's mailbox. A run is done when every order is a document and every 997 is queued.
``json``: ``examples/purchase-order.json`` with distinct PO numbers to
``POST /api/v1/inbound/ACME/purchase_order``; done when every order is a document.

Usage:
    load = Payloads("x12", 3000, tag="E")
    load.setup(hub)                      # the partner profile
    client.post(load.path, content=load.bodies[i])
    load.done(conn)                      # True once the hub has finished all of them
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from benchmarks.bench_decode import make_850

ROOT = Path(__file__).resolve().parents[1]
FORMATS = ("x12", "json")


class Payloads:
    def __init__(self, fmt: str, count: int, *, tag: str, seed: int = 7) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"format is one of {', '.join(FORMATS)}, not {fmt!r}")
        self.format, self.count = fmt, count
        if fmt == "x12":
            rnd = random.Random(seed)
            self.path = "/api/v1/inbound/edi"
            self.bodies = [make_850(rnd, n) for n in range(1, count + 1)]
        else:
            template = json.loads((ROOT / "examples" / "purchase-order.json").read_text())
            self.path = "/api/v1/inbound/ACME/purchase_order"
            self.bodies = [json.dumps(template | {"po_number": f"{tag}-{i:07d}"}).encode() for i in range(count)]

    @property
    def name(self) -> str:
        return "x12_850_edi_http" if self.format == "x12" else "json_purchase_order_http"

    def setup(self, hub: Any) -> None:
        if self.format == "x12":
            hub.add_partner("ACMESTORES", role="customer", edi={
                "standard": "x12", "interchange_id": "ACMESTORES", "our_interchange_id": "WIDGETSUPPLY",
                "transport": "mailbox"})
        else:
            hub.add_partner("ACME")

    def done(self, conn: Connection) -> bool:
        if (conn.scalar(text("select count(*) from documents")) or 0) < self.count:
            return False
        if self.format == "x12":
            acks = conn.scalar(text("select count(*) from edi_outbound where set_id = '997'")) or 0
            return acks >= self.count
        return True
