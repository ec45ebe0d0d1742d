"""What the end-to-end benchmarks send: X12 850 interchanges (the default) or JSON purchase orders.

``x12``: 20-line 850s (``bench_decode.make_850``, a distinct interchange, group and PO number
each) from the customer ACMESTORES to ``POST /api/v1/inbound/edi``; the hub reads the
envelope, validates, maps and deduplicates each order and writes a 997 for it to the
partner's mailbox. A run is done when every order is a document and every 997 is queued.
``sets=N`` puts N 850s in each interchange (one functional group, one 997): ``count`` still
counts orders, ``bodies`` holds count / N interchanges.
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
    def __init__(self, fmt: str, count: int, *, tag: str, seed: int = 7, partners: int = 1,
                 sets: int = 1) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"format is one of {', '.join(FORMATS)}, not {fmt!r}")
        if partners < 1 or (partners > 1 and fmt != "x12"):
            raise ValueError("--partners: 1 or more, and more than 1 only with x12")
        if sets < 1 or (sets > 1 and fmt != "x12") or count % sets:
            raise ValueError("--sets: 1 or more, more than 1 only with x12, and dividing the documents")
        self.format, self.count, self.partners, self.sets = fmt, count, partners, sets
        if fmt == "x12":
            rnd = random.Random(seed)
            self.path = "/api/v1/inbound/edi"
            # one partner's interchanges are read in order: with several, they interleave
            self.bodies = [_from(self.sender(n % partners), make_850(rnd, n, sets=sets))
                           for n in range(1, count // sets + 1)]
        else:
            template = json.loads((ROOT / "examples" / "purchase-order.json").read_text())
            self.path = "/api/v1/inbound/ACME/purchase_order"
            self.bodies = [json.dumps(template | {"po_number": f"{tag}-{i:07d}"}).encode() for i in range(count)]

    @property
    def name(self) -> str:
        if self.format == "json":
            return "json_purchase_order_http"
        if self.sets > 1:
            return f"x12_850_edi_http_{self.sets}_sets_per_interchange" + (
                "" if self.partners == 1 else f"_{self.partners}_partners")
        return "x12_850_edi_http" if self.partners == 1 else f"x12_850_edi_http_{self.partners}_partners"

    def sender(self, k: int) -> str:
        """The k-th partner's interchange id (ACMESTORES alone; ACME000000, ACME000001 ... with several)."""
        return "ACMESTORES" if self.partners == 1 else f"ACME{k:06d}"

    def setup(self, hub: Any) -> None:
        if self.format == "x12":
            for k in range(self.partners):
                hub.add_partner(self.sender(k), role="customer", edi={
                    "standard": "x12", "interchange_id": self.sender(k), "our_interchange_id": "WIDGETSUPPLY",
                    "transport": "mailbox"})
        else:
            hub.add_partner("ACME")

    def done(self, conn: Connection) -> bool:
        if (conn.scalar(text("select count(*) from documents")) or 0) < self.count:
            return False
        if self.format == "x12":
            acks = conn.scalar(text("select count(*) from edi_outbound where set_id = '997'")) or 0
            return acks >= len(self.bodies)  # one 997 per functional group
        return True


def _from(sender: str, interchange: bytes) -> bytes:
    """``interchange`` (from ACMESTORES) as sent by ``sender`` (10 characters: ISA06 keeps its width)."""
    assert len(sender) == 10
    return (interchange.replace(b"*ZZ*ACMESTORES     *", f"*ZZ*{sender}     *".encode(), 1)
            .replace(b"GS*PO*ACMESTORES*", f"GS*PO*{sender}*".encode(), 1))
