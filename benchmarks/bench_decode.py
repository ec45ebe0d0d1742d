"""Decode throughput and memory of the X12 and EDIFACT codecs.

Generates N seeded, realistic 20-line X12 850 and EDIFACT ORDERS interchanges, then
measures documents per second for Crossdock's readers (alone and with syntax
validation), for pydifact parsing the same EDIFACT, and for mapping to canonical when
``mappings.engine`` is available; peak memory by tracemalloc and ru_maxrss; and a
streaming run over a generated file (100 MB by default) sampling resident memory to
show it stays flat. Prints one JSON document.

Reproduce:
    .venv/bin/python benchmarks/bench_decode.py --n 2000 --stream-mb 100
    .venv/bin/python benchmarks/bench_decode.py --instructions x12 --n 30  # under callgrind
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import io
import itertools
import json
import os
import random
import resource
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.formats import edifact, x12
from connectors.formats.validator import validate_interchange

WORDS = ["WIDGET", "BOLT", "NUT", "WASHER", "CABLE TIE", "GLOVES", "LAMP", "DRILL BIT", "CLAMP",
         "SCREW", "PLUG", "HINGE", "BRACKET", "FUSE", "SWITCH", "TAPE", "VALVE", "GASKET"]


def gtin(rnd: random.Random, length: int) -> str:
    """A random GTIN (12 = UPC-A, 13 = EAN-13) with a correct check digit."""
    body = [rnd.randrange(10) for _ in range(length - 1)]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return "".join(map(str, body)) + str((10 - total % 10) % 10)


def make_850(rnd: random.Random, n: int, *, sets: int = 1) -> bytes:
    """The n-th interchange: one functional group of ``sets`` 850s (PO numbers n·sets … n·sets + sets − 1
    when ``sets`` > 1; PO-n alone otherwise, as before the option)."""
    bodies: list[str] = []
    for k in range(sets):
        po = n if sets == 1 else n * sets + k
        st = f"{(n if sets == 1 else k + 1) % 10000:04d}"
        lines = []
        for i in range(1, 21):
            lines.append(f"PO1*{i}*{rnd.randrange(1, 500)}*EA*{rnd.randrange(50, 99999) / 100:.2f}**UP*"
                         f"{gtin(rnd, 12)}*VP*SKU-{rnd.randrange(10**5, 10**6)}")
            lines.append(f"PID*F****{rnd.choice(WORDS)} {rnd.randrange(1, 99)}MM")
        body = [f"ST*850*{st}", f"BEG*00*SA*PO-{po:08d}**20240115", "CUR*BY*USD",
                "REF*DP*042", "DTM*002*20240125", "N1*BY*ACME STORES INC*92*0001",
                "N3*100 MAIN STREET", "N4*SPRINGFIELD*IL*62701*US",
                f"N1*ST*ACME DC {po % 97}*92*{po % 97:04d}", "N3*4500 LOGISTICS PKWY",
                "N4*JOLIET*IL*60431*US", *lines, "CTT*20"]
        body.append(f"SE*{len(body) + 1}*{st}")
        bodies += body
    isa = (f"ISA*00*          *00*          *ZZ*ACMESTORES     *ZZ*WIDGETSUPPLY   *240115*0930*U"
           f"*00401*{n:09d}*0*P*>")
    segs = [isa, f"GS*PO*ACMESTORES*WIDGETSUPPLY*20240115*0930*{n}*X*004010", *bodies,
            f"GE*{sets}*{n}", f"IEA*1*{n:09d}"]
    return ("~\n".join(segs) + "~\n").encode()


def make_orders(rnd: random.Random, n: int) -> bytes:
    body = [f"UNH+{n}+ORDERS:D:96A:UN:EAN008", f"BGM+220+PO{n:08d}+9", "DTM+137:20240115:102",
            "DTM+2:20240125:102", "FTX+DEL+++CALL ?+44 20 7946 0958 BEFORE DELIVERY",
            "NAD+BY+5412345000013::9", "NAD+SU+4012345000009::9",
            f"NAD+DP+54123450{n % 99999:05d}::9", "CUX+2:EUR:9"]
    for i in range(1, 21):
        body += [f"LIN+{i}++{gtin(rnd, 13)}:EN",
                 f"PIA+1+SKU-{rnd.randrange(10**5, 10**6)}:SA",
                 f"QTY+21:{rnd.randrange(1, 500)}:PCE",
                 f"PRI+AAA:{rnd.randrange(50, 99999) / 100:.2f}"]
    body += ["UNS+S", "CNT+2:20"]
    body.append(f"UNT+{len(body) + 1}+{n}")
    segs = [f"UNB+UNOC:3+5412345000013:14+4012345000009:14+240115:0930+{n}", *body,
            f"UNZ+1+{n}"]
    return ("UNA:+.? '\n" + "'\n".join(segs) + "'\n").encode("latin-1")


def _rate(count: int, fn: Callable[[], Any]) -> float:
    # CPU time of this process: documents per second on one core, however busy the
    # machine is with other work (wall-clock figures swing with the load average).
    start = time.process_time()
    fn()
    return round(count / (time.process_time() - start), 1)


def _consume(items: Iterable[Any]) -> None:
    for _ in items:
        pass


def _validated(items: Iterable[Any]) -> None:
    for ic in items:
        validate_interchange(ic)


def _mapper() -> Callable[[Any, Any, Any], Any] | None:
    """The canonical mapping step, when another part of Crossdock provides it."""
    if importlib.util.find_spec("mappings.engine") is None:
        return None
    engine = importlib.import_module("mappings.engine")
    fn = getattr(engine, "map_transaction", None)
    return fn if callable(fn) else None


def _mapped(items: Iterable[Any], mapper: Callable[[Any, Any, Any], Any]) -> None:
    for ic in items:
        validate_interchange(ic)
        for group in ic.groups:
            for tx in group.transactions:
                mapper(ic, group, tx)


def _collections() -> list[int]:
    return [g["collections"] for g in gc.get_stats()]


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return round(int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


def bench_batch(n: int, seed: int) -> dict[str, Any]:
    rnd = random.Random(seed)
    x12_data = b"".join(make_850(rnd, i + 1) for i in range(n))
    edi_docs = [make_orders(rnd, i + 1) for i in range(n)]
    edi_data = b"".join(edi_docs)
    out: dict[str, Any] = {"documents": n, "x12_bytes": len(x12_data), "edifact_bytes": len(edi_data)}
    out["x12_850_per_s"] = _rate(n, lambda: _consume(x12.read(x12_data)))
    out["x12_850_validated_per_s"] = _rate(n, lambda: _validated(x12.read(x12_data)))
    out["edifact_orders_per_s"] = _rate(n, lambda: _consume(edifact.read(edi_data)))
    out["edifact_orders_validated_per_s"] = _rate(n, lambda: _validated(edifact.read(edi_data)))
    from pydifact.parser import Parser

    texts = [d.decode("latin-1") for d in edi_docs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out["pydifact_orders_per_s"] = _rate(n, lambda: [list(Parser().parse(t)) for t in texts])
    mapper = _mapper()
    if mapper is None:
        out["mapping"] = "mappings.engine not available: map-to-canonical not measured"
    else:
        before = _collections()
        out["x12_850_validated_mapped_per_s"] = _rate(n, lambda: _mapped(x12.read(x12_data), mapper))
        middle = _collections()
        out["edifact_orders_validated_mapped_per_s"] = _rate(
            n, lambda: _mapped(edifact.read(edi_data), mapper))
        # Garbage collections (generations 0, 1, 2) during each full-path run: a decoder
        # that keeps more than ~700 new container objects alive per interchange makes the
        # collector run after every one, and the full collections that follow are costly.
        out["gc_collections_mapped"] = {"x12_850": [b - a for a, b in zip(before, middle, strict=True)],
                                        "edifact_orders": [b - a for a, b in zip(middle, _collections(),
                                                                                 strict=True)]}
    # The machine is shared: rates swing with its load, their ratio to pydifact in the
    # same run much less.
    base = out["pydifact_orders_per_s"]
    out["ratio_to_pydifact"] = {
        key.removesuffix("_per_s"): round(value / base, 2)
        for key, value in out.items() if key.endswith("_per_s") and key != "pydifact_orders_per_s"
    }
    gc.collect()
    tracemalloc.start()
    _validated(x12.read(x12_data))
    _validated(edifact.read(edi_data))
    out["tracemalloc_peak_mb_batch_read"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 2)
    tracemalloc.stop()
    return out


def bench_stream(megabytes: int, seed: int) -> dict[str, Any]:
    rnd = random.Random(seed + 1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stream.edi"
        written = 0
        with path.open("wb") as fh:
            i = 0
            while written < megabytes * 2**20:
                i += 1
                chunk = make_850(rnd, i) if i % 2 else make_orders(rnd, i)
                fh.write(chunk)
                written += len(chunk)
        samples: list[float] = []
        count = 0
        start = time.process_time()
        wall = time.perf_counter()
        with path.open("rb") as fp:
            # one file mixing both standards is split by sniffing each interchange
            for ic in _mixed(fp):
                validate_interchange(ic)
                count += 1
                if count % 2000 == 0:
                    samples.append(_rss_mb())
        elapsed = time.process_time() - start
        wall = time.perf_counter() - wall
    return {"file_mb": round(written / 2**20, 1), "interchanges": count,
            "per_s_validated_cpu": round(count / elapsed, 1),
            "per_s_validated_wall": round(count / wall, 1),
            "rss_mb_samples_every_2000": samples,
            "rss_growth_mb_first_to_last": round(samples[-1] - samples[0], 1) if samples else 0.0}


def _mixed(fp: io.BufferedReader) -> Iterable[Any]:
    """Interchanges of either standard from one file, each parsed by its own codec."""
    from connectors.formats import _stream

    def find_end(buf: bytes, start: int, eof: bool) -> int | None:
        if buf[start:start + 3] == b"ISA":
            return x12._find_end(buf, start, eof, None)
        return edifact._find_end(buf, start, eof, None)

    for offset, raw in _stream.cut(_stream.locate(fp, 1 << 20), find_end, partner=None):
        module = x12 if raw[:3] == b"ISA" else edifact
        yield module.parse_interchange(raw, offset=offset)


def count_instructions(standard: str, n: int, seed: int, step: str = "full") -> None:
    """The full path (or one ``step`` of it) over ``n`` documents inside
    ``itertools.starmap``, after a warm-up.

    For an instruction count no load disturbs (see README-decode.md)::

        PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
            --collect-atstart=no --toggle-collect=starmap_next \\
            .venv/bin/python benchmarks/bench_decode.py --instructions x12 --n 30

    ``step``: ``read`` (``read`` into a list), ``validate`` (``validate_interchange`` of an
    interchange read beforehand), ``walk`` (the map's walk of the body into a dict),
    ``model`` (the map's validation of a dict mapped beforehand into its canonical model:
    ``model_validate`` through ``canonical.prechecked`` where the map has it), ``map``
    (``map_transaction``) or ``full`` (all of it, from bytes).
    """
    mapper = _mapper()
    assert mapper is not None, "mappings.engine is needed for the full path"
    rnd = random.Random(seed)
    make, module = (make_850, x12) if standard == "x12" else (make_orders, edifact)
    warm = [make(rnd, i + 1) for i in range(30)]
    docs = [make(rnd, i + 1) for i in range(n)]

    def one(raw: bytes) -> None:
        _mapped(module.read(raw), mapper)

    fn: Callable[..., Any] = one
    if step != "full":
        from mappings.engine import load_map
        from mappings.inbound import Reader

        def prepared(raw: bytes) -> tuple[Any, ...]:
            [ic] = module.read(raw)
            validate_interchange(ic)
            [group] = ic.groups
            [tx] = group.transactions
            m = load_map(ic.standard, tx.set_id, "inbound",
                         version=tx.version or group.version or ic.version)
            if step == "read":
                return (raw,)
            if step == "validate":
                return (ic,)
            if step == "map":
                return (ic, group, tx)
            body = m._body(tx.segments)
            if step == "walk":
                return (m, body)
            doc = Reader(m._root, m._known).read(body)
            m._data.inbound(doc, m.spec, {"sender_id": group.sender_id or ic.sender_id,
                                          "receiver_id": group.receiver_id or ic.receiver_id})
            for function in m._functions:
                function(doc)
            return (m, doc)

        fn = {"read": lambda raw: list(module.read(raw)), "validate": validate_interchange,
              "walk": lambda m, body: Reader(m._root, m._known).read(body),
              "model": lambda m, doc: getattr(m, "_validate", m._model.model_validate)(doc),
              "map": mapper}[step]
        warm_args = [prepared(raw) for raw in warm]
        args = [prepared(raw) for raw in docs]
    else:
        warm_args = [(raw,) for raw in warm]
        args = [(raw,) for raw in docs]
    for a in warm_args:
        fn(*a)
    for _ in itertools.starmap(fn, args):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="documents per standard")
    parser.add_argument("--stream-mb", type=int, default=100, help="0 skips the streaming run")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--instructions", choices=["x12", "edifact"],
                        help="only run the full path over --n documents, for callgrind")
    parser.add_argument("--step", choices=["full", "read", "validate", "walk", "model", "map"],
                        default="full", help="with --instructions: only this step of the path")
    args = parser.parse_args()
    if args.instructions:
        count_instructions(args.instructions, args.n, args.seed, args.step)
        return
    result: dict[str, Any] = {
        "command": f".venv/bin/python benchmarks/bench_decode.py --n {args.n} "
                   f"--stream-mb {args.stream_mb} --seed {args.seed}",
        "python": sys.version.split()[0], "cpus": os.cpu_count(),
        "loadavg_at_start": os.getloadavg(),
    }
    result["batch"] = bench_batch(args.n, args.seed)
    if args.stream_mb:
        result["stream"] = bench_stream(args.stream_mb, args.seed)
    result["ru_maxrss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    result["loadavg_at_end"] = os.getloadavg()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
