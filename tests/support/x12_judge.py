"""pyx12 as an independent judge of the X12 acknowledgments Crossdock writes (997, 999, TA1).

pyx12 validates an interchange against its implementation-guide maps: 005010X231A1 for the
999, 004010 for the 997, and its control maps for ISA/GS/TA1. Those guides were published for
HIPAA, so three code lists name health-care sets only: AK101 (functional identifier), AK201
(transaction set) and the 999's business-unit CTX01-1 (CLM01, NM109, ...). pyx12 also uses
AK101/AK201 to recognise the segments, so an acknowledgment of a purchase order is "not found"
before anything else is checked. ``judge_maps`` copies pyx12's maps and adds the codes of the
sets Crossdock trades (and the business-unit elements its 999 names) to those three lists;
everything else — structure, loops, usage, repeats, lengths, the other code lists — is pyx12's.
pyx12 checks SE/GE/IEA counts but not what an acknowledgment says: AK9's counts and status
against its AK2/IK5s are for the tests to check.

Usage:
    maps = judge_maps(tmp_path / "pyx12-maps")
    assert judge(payload, maps) == []          # maps=None: pyx12's own, unchanged
"""

from __future__ import annotations

import io
import json
import logging
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

__all__ = ["ADDED_CODES", "BUSINESS_UNITS", "judge", "judge_maps"]

# The functional groups and sets Crossdock trades (hub/edi/outbound.py, x12_writer.py).
ADDED_CODES = {"AK101": ("PO", "PC", "PR", "CA", "SH", "IN"),
               "AK201": ("850", "860", "855", "865", "856", "810")}
# The elements the 999's business-unit CTX names (connectors/formats/acks.py _BUSINESS_UNIT).
BUSINESS_UNITS = ("BEG03", "BCH03", "BAK03", "BSN02", "BIG02")
_WIDENED = ("999.5010X231.A1.xml", "997.4010.xml")


def judge_maps(into: Path) -> Path:
    """A copy of pyx12's maps at ``into`` with the code lists above widened (see the docstring)."""
    import pyx12

    shutil.copytree(Path(pyx12.__file__).parent / "map", into)
    for name in _WIDENED:
        tree = ET.parse(into / name)
        widened: list[str] = []
        for element in tree.iter("element"):
            if (xid := element.get("xid") or "") in ADDED_CODES:
                _codes(element).extend(_code(c) for c in ADDED_CODES[xid])
                widened.append(xid)
        for segment in tree.iter("segment"):
            if segment.get("xid") == "CTX" and segment.findtext("name") == "Business Unit Identifier":
                first = segment.find("composite/element")
                assert first is not None and first.get("xid") == "CTX01-01"
                _codes(first).extend(_code(c) for c in BUSINESS_UNITS)
                widened.append("CTX")
        # A pyx12 whose maps moved these lists would make every acknowledgment "not found".
        assert widened == ["AK101", "AK201", *(["CTX"] if name.startswith("999") else [])], widened
        tree.write(into / name, encoding="UTF-8", xml_declaration=True)
    return into


def _codes(element: ET.Element) -> ET.Element:
    codes = element.find("valid_codes")
    assert codes is not None and codes.get("external") is None, element.get("xid")
    return codes


def _code(value: str) -> ET.Element:
    code = ET.Element("code")
    code.text = value
    return code


def judge(payload: bytes | str, maps: Path | None) -> list[str]:
    """Every complaint pyx12 has about ``payload`` ([] when it finds it valid); ``maps=None``
    uses pyx12's own maps unchanged."""
    import pyx12.params
    import pyx12.x12n_document

    text = payload.decode() if isinstance(payload, bytes) else payload
    params = pyx12.params.params()
    where = str(maps) if maps is not None else None
    # pyx12 cannot report an element error on a TA1 outside a group (its error handler has no
    # transaction to hang it on and fails), so each TA1 is checked against the control map first.
    found = _service_segments(text, params, where)
    if found:
        return found
    report = io.StringIO()
    logged = _Collect()
    logger = logging.getLogger("pyx12")
    logger.addHandler(logged)
    try:
        valid = pyx12.x12n_document.x12n_document(params, io.StringIO(text), None, None,
                                                  fd_json=report, map_path=where)
    finally:
        logger.removeHandler(logged)
    found = _errors(json.loads(report.getvalue())) + logged.messages
    if "GS" not in _segment_ids(text):
        # X12 allows an interchange of TA1s only (IEA01 = 0); pyx12's control map wants a group.
        found = [f for f in found if '"Functional Group Header" (GS_LOOP) missing' not in f]
    elif not valid and not found:
        found = ["pyx12 found the document invalid without saying why"]
    return found


def _segment_ids(text: str) -> list[str]:
    import pyx12.x12file

    return [seg.get_seg_id() for seg in pyx12.x12file.X12Reader(io.StringIO(text))]


def _service_segments(text: str, params: Any, where: str | None) -> list[str]:
    import pyx12.map_if
    import pyx12.x12file

    reader = pyx12.x12file.X12Reader(io.StringIO(text))
    found: list[str] = []
    node = None
    for seg in reader:
        if seg.get_seg_id() != "TA1":
            continue
        if node is None:
            control = "x12.control.00501.xml" if reader.icvn == "00501" else "x12.control.00401.xml"
            node = pyx12.map_if.load_map_file(control, params, where).getnodebypath("/ISA_LOOP/TA1")
        found += [f"/TA1: {e.err_cde} {e.err_str}" for e in node.is_valid_errors(seg)[1]]
    return found


class _Collect(logging.Handler):
    """pyx12 logs each error too; some (a missing mandatory loop, an ST element) only there."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _errors(node: Any, where: str = "") -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        here = where + ("/" + str(node.get("seg_id") or node.get("trn_set_id") or node.get("fic") or "")
                        if any(k in node for k in ("seg_id", "trn_set_id", "fic")) else "")
        if "ele_pos" in node:
            here = f"{where}{node['ele_pos']:02d}" if isinstance(node["ele_pos"], int) else where
        for e in node.get("errors", []):
            value = f" [{e['err_val']}]" if e.get("err_val") else ""
            out.append(f"{here or '/'}: {e['err_cde']} {e['err_str']}{value}")
        for key in ("interchanges", "groups", "transactions", "segments", "elements"):
            for child in node.get(key, []):
                out += _errors(child, here)
    return out
