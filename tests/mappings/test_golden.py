"""Golden files: EDI in → canonical JSON; canonical JSON → EDI body; and back again.

Each ``golden/<name>.edi`` sits beside ``<name>.json`` (what Crossdock must read from it)
and ``<name>.out`` (the body Crossdock writes from that JSON, one segment per line).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from canonical.registry import model_for
from mappings.engine import load_map, map_transaction
from tests.mappings.edi import GOLDEN, read, segments_text, standard_of, to_bytes

CASES = sorted(GOLDEN.glob("*.edi"))


def _expected(path: Path) -> dict:
    return json.loads(path.with_suffix(".json").read_text())


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_inbound_matches_expected_canonical(path: Path) -> None:
    [(ic, group, tx)] = read(path)
    doc = map_transaction(ic, group, tx)
    got = doc.model_dump(mode="json", exclude={"idempotency_key"}, exclude_none=True)
    assert got == _expected(path)


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_outbound_matches_expected_edi(path: Path) -> None:
    expected = _expected(path)
    doc = model_for(expected["document_type"]).model_validate(expected)
    [(_ic, _group, tx)] = read(path)
    std = standard_of(path)
    body = load_map(std, tx.set_id, "outbound", version=tx.version).from_canonical(doc)
    assert segments_text(body, std) == path.with_suffix(".out").read_text()


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_round_trip_through_bytes_gives_the_same_document(path: Path) -> None:
    expected = _expected(path)
    std = standard_of(path)
    if std == "x12":
        # X12 pairs N103 with N104: an id without a qualifier goes out as ZZ (mutually defined).
        for party in ("buyer", "seller", "ship_to", "ship_from", "bill_to", "remit_to"):
            if party in expected and "qualifier" not in expected[party]:
                expected[party]["qualifier"] = "mutually_defined"
    original = model_for(expected["document_type"]).model_validate(expected)
    [(ic, _group, tx)] = read(path)
    outbound = load_map(std, tx.set_id, "outbound", version=tx.version)
    payload = to_bytes(std, outbound.build_transaction(original, control_number="0042"),
                       sender=ic.sender_id, receiver=ic.receiver_id)
    [(ic2, group2, tx2)] = [(a, b, c) for a, b, c in _read_bytes(std, payload)]
    again = map_transaction(ic2, group2, tx2)
    assert again == original
    assert again.idempotency_key == original.idempotency_key


def _read_bytes(std: str, payload: bytes):  # type: ignore[no-untyped-def]
    from connectors.formats import edifact, x12

    codec = edifact if std == "edifact" else x12
    return [(ic, g, t) for ic in codec.read(payload) for g in ic.groups for t in g.transactions]


def test_every_builtin_set_has_an_inbound_golden_file() -> None:
    covered = {(standard_of(p), p.stem.split("_")[1].upper()) for p in CASES}
    builtin = {tuple(p.stem.split("_", 1)) for p in (GOLDEN.parent.parent.parent / "mappings" / "builtin").glob("*.yaml")
               if p.stem.split("_", 1)[0] in ("x12", "edifact")}
    assert builtin <= covered
