"""``crossdock parse`` on X12/EDIFACT and ``crossdock render``, as a user runs them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from canonical.documents import PurchaseOrder

GOLDEN = Path(__file__).resolve().parents[1] / "mappings" / "golden"
pytestmark = pytest.mark.slow  # each case starts the real command (about 3 s)
CROSSDOCK = str(Path(sys.executable).parent / "crossdock")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CROSSDOCK, *args], capture_output=True, text=True, timeout=60)


def test_parse_reads_several_interchanges_into_canonical_json_lines(tmp_path: Path) -> None:
    both = tmp_path / "both.edi"
    both.write_bytes((GOLDEN / "x12_850_004010.edi").read_bytes() + (GOLDEN / "x12_810_004010.edi").read_bytes())
    result = run("parse", str(both))
    assert result.returncode == 0, result.stderr
    docs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["document_type"] for d in docs] == ["purchase_order", "invoice"]
    expected = PurchaseOrder.model_validate_json((GOLDEN / "x12_850_004010.json").read_text())
    assert PurchaseOrder.model_validate(docs[0]) == expected


def test_parse_names_partner_interchange_segment_and_element_on_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.edi"
    text = (GOLDEN / "x12_850_004010.edi").read_text()
    bad.write_text(re.sub(r"(?m)^SE\*\d+", "SE*99", text))
    result = run("parse", str(bad))
    assert result.returncode == 1
    line = result.stderr.splitlines()[0]
    assert "partner " in line and "ISA " in line and "850 0001" in line
    assert "SE at segment" in line and "element 01" in line


def test_a_cut_off_interchange_is_named_once_per_problem_without_a_bogus_field(tmp_path: Path) -> None:
    cut = tmp_path / "cut.edi"
    cut.write_bytes((GOLDEN / "x12_850_004010.edi").read_bytes()[:300])
    result = run("parse", str(cut), "--partner", "ACME")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert any(line.endswith("850 0001: SE missing") for line in lines), lines
    assert all(line.startswith(f"{cut}: partner ACME / ISA 000000001 / 850 0001: ") for line in lines), lines
    assert not any("field " in line or "unknown" in line for line in lines), lines


@pytest.mark.parametrize(("standard", "set_id", "golden"), [
    ("x12", "850", "x12_850_004010"), ("x12", "855", "x12_855_004010"), ("x12", "856", "x12_856_004010"),
    ("x12", "810", "x12_810_004010"), ("edifact", "ORDERS", "edifact_ORDERS_D96A"),
    ("edifact", "INVOIC", "edifact_INVOIC_D96A"),
])
def test_render_writes_edi_that_parses_back_to_the_same_document(tmp_path: Path, standard: str, set_id: str,
                                                                 golden: str) -> None:
    rendered = run("render", "--standard", standard, "--set", set_id, str(GOLDEN / f"{golden}.json"))
    assert rendered.returncode == 0, rendered.stderr
    out = tmp_path / "out.edi"
    out.write_text(rendered.stdout)
    parsed = run("parse", str(out))
    assert parsed.returncode == 0, parsed.stderr
    [doc] = [json.loads(line) for line in parsed.stdout.splitlines()]
    expected = json.loads((GOLDEN / f"{golden}.json").read_text())
    assert doc["document_type"] == expected["document_type"]
    assert doc.get("po_number") == expected.get("po_number")
    assert len(doc.get("lines", [])) == len(expected.get("lines", []))
