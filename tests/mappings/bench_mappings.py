"""Throughput of codec + mapping for a 20-line 850 and ORDERS (not collected by pytest).

Reproduce:  .venv/bin/python -m tests.mappings.bench_mappings
"""

from __future__ import annotations

import time

from connectors.formats import edifact, x12
from mappings.engine import load_map, map_transaction

ISA = "ISA*00*          *00*          *ZZ*MOCKEDI        *ZZ*CROSSDOCK      *261123*1200*U*00401*000000001*0*T*>~"


def x12_850(lines: int = 20) -> bytes:
    body = ["BEG*00*SA*PO-1**20261123~", "CUR*BY*USD~", "DTM*002*20261201~", "N1*BY*Buyer*92*B1~",
            "N3*1 Main St~", "N4*City*ST*12345*US~", "N1*ST*Dock*92*S1~"]
    for i in range(1, lines + 1):
        body += [f"PO1*{i}*{i}*EA*{i}.25**VP*W-{i}*BP*B-{i}~", f"PID*F****Widget number {i}~"]
    body.append(f"CTT*{lines}~")
    return "\n".join([ISA, "GS*PO*A*B*20261123*1200*1*X*004010~", "ST*850*0001~", *body,
                      f"SE*{len(body) + 2}*0001~", "GE*1*1~", "IEA*1*000000001~"]).encode()


def edifact_orders(lines: int = 20) -> bytes:
    items = "".join(f"LIN+{i}++W-{i}:VP'PIA+1+B-{i}:IN'IMD+F++:::Widget {i}'QTY+21:{i}:PCE'PRI+AAA:{i}.25'"
                    for i in range(1, lines + 1))
    msg = f"BGM+220+PO-1+9'DTM+137:20261123:102'NAD+BY+B1::9'NAD+DP+S1::9'CUX+2:EUR:9'{items}UNS+S'CNT+2:{lines}'"
    count = msg.count("'") + 2
    return (f"UNA:+.? 'UNB+UNOC:3+B:14+S:14+261123:1200+1'UNH+1+ORDERS:D:96A:UN'{msg}"
            f"UNT+{count}+1'UNZ+1+1'").encode()


def rate(codec, data: bytes, seconds: float = 2.0) -> float:  # type: ignore[no-untyped-def]
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for ic in codec.read(data):
            for g in ic.groups:
                for t in g.transactions:
                    map_transaction(ic, g, t)
        done += 1
    return done / (time.perf_counter() - start)


def mapping_only_us(data: bytes, codec, standard: str, set_id: str, n: int = 2000) -> float:  # type: ignore[no-untyped-def]
    [ic] = list(codec.read(data))
    tx = ic.groups[0].transactions[0]
    m = load_map(standard, set_id, "inbound", version=tx.version)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n // 5):
            m.to_canonical(tx)
        best = min(best, (time.perf_counter() - start) / (n // 5) * 1e6)
    return best


if __name__ == "__main__":
    import timeit

    # Python speed of this machine, to compare runs across machines (≈8 µs on a recent laptop).
    calibration = min(timeit.repeat("sum(range(1000))", number=2000, repeat=5)) / 2000 * 1e6
    print(f"calibration sum(range(1000)): {calibration:.1f} us")
    print(f"x12 850, 20 lines: mapping {mapping_only_us(x12_850(), x12, 'x12', '850'):.0f} us/doc; "
          f"codec + mapping {rate(x12, x12_850()):.0f} docs/s")
    print(f"EDIFACT ORDERS, 20 lines: mapping {mapping_only_us(edifact_orders(), edifact, 'edifact', 'ORDERS'):.0f}"
          f" us/doc; codec + mapping {rate(edifact, edifact_orders()):.0f} docs/s")
