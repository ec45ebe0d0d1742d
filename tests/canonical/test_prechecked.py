"""``canonical.prechecked``: the look-then-lighter validator against ``model_validate``.

Where the look at a document lets it through, it is validated without the GTIN check digit,
"a line names an item", the documents' line checks, the computed-key drop and the
``Amount`` digit limits; everywhere else through ``model_validate``. Both must give the same
instance (class, fields, fields set) or fail with the same error (its text, and every error's
type, location, message, input, context and URL), for the documents the builtin maps make
of the golden files and for thousands of mutated copies of them (values at and past every
limit, other types, blanks and Unicode spaces, repeated line numbers, tuples, model
instances, the computed key...). Some of those must take the lighter way, some the other.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from canonical import DOCUMENT_TYPES
from canonical.common import gtin_is_valid
from canonical.errors import ConfigurationError
from canonical.prechecked import prechecked_validator
from connectors.formats import edifact, x12
from mappings.engine import load_map
from mappings.inbound import Reader

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = sorted((ROOT / "mappings" / "golden").glob("*.edi")) + sorted(
    (ROOT / "connectors" / "formats" / "golden" / "in").glob("*.edi"))


def _mapped_documents() -> list[tuple[type[BaseModel], dict[str, Any]]]:
    """(model, the dict the engine hands to validation) for every golden transaction."""
    out = []
    for path in GOLDEN:
        data = path.read_bytes()
        module = x12 if data.lstrip()[:3] == b"ISA" else edifact
        try:
            interchanges = list(module.read(data))
        except Exception:
            continue
        for ic in interchanges:
            for g in ic.groups:
                for t in g.transactions:
                    version = t.version or (g.version if g else None) or ic.version
                    try:
                        m = load_map(ic.standard, t.set_id, "inbound", version=version)
                    except ConfigurationError:
                        continue
                    doc = Reader(m._root, m._known).read(m._body(t.segments))
                    m._data.inbound(doc, m.spec, {"sender_id": g.sender_id or ic.sender_id,
                                                  "receiver_id": g.receiver_id or ic.receiver_id})
                    for fn in m._functions:
                        fn(doc)
                    out.append((m._model, doc))
    return out


DOCUMENTS = _mapped_documents()


def _outcome(fn: Callable[[Any], Any], data: Any) -> tuple[Any, ...]:
    try:
        result = fn(data)
    except ValidationError as exc:
        return ("error", str(exc), exc.title, exc.error_count(),
                repr(exc.errors(include_url=True, include_context=True, include_input=True)))
    return ("ok", type(result), repr(result), result.model_fields_set,
            result.model_dump_json(), repr(result.model_dump()))


class _Counting:
    """Counts which way the generated validator went."""

    def __init__(self, model: type[BaseModel], monkeypatch: pytest.MonkeyPatch) -> None:
        self.validate = prechecked_validator(model)
        self.fast = self.full = 0
        ns = self.validate.__globals__
        fast, full = ns["FAST"], ns["FULL"]

        def counted_fast(data: Any) -> Any:
            self.fast += 1
            return fast(data)

        def counted_full(data: Any) -> Any:
            self.full += 1
            return full(data)

        monkeypatch.setitem(ns, "FAST", counted_fast)
        monkeypatch.setitem(ns, "FULL", counted_full)


def _same(model: type[BaseModel], validate: Callable[[Any], Any], data: Any) -> None:
    want = _outcome(model.model_validate, copy.deepcopy(data))
    got = _outcome(validate, copy.deepcopy(data))
    assert got == want, data


def test_the_golden_documents_take_the_lighter_way(monkeypatch: pytest.MonkeyPatch) -> None:
    kinds = {model for model, _ in DOCUMENTS}
    assert {"PurchaseOrder", "OrderAcknowledgment", "Invoice", "ShipNotice"} <= {k.__name__ for k in kinds}
    counters = {model: _Counting(model, monkeypatch) for model in kinds}
    for model, doc in DOCUMENTS:
        _same(model, counters[model].validate, doc)
    for model, c in counters.items():
        assert c.fast > 0, model  # every document type the maps make goes the lighter way


AMOUNTS = [
    Decimal("1"), Decimal("0"), Decimal("-0"), Decimal("-1"), Decimal("0.1"), Decimal("0.000001"),
    Decimal("0.0000001"), Decimal("0.00000010"), Decimal("1.0000000"), Decimal("1.1234567"),
    Decimal("-1.123456"), Decimal("123456789012"), Decimal("1234567890123"), Decimal("999999999999.999999"),
    Decimal("-999999999999.999999"), Decimal("999999999999.9999999"), Decimal("1000000000000.000000"),
    Decimal("1E+11"), Decimal("1E+12"), Decimal("1E+20"), Decimal("0E+20"), Decimal("0E-20"),
    Decimal("1E-6"), Decimal("1E-7"), Decimal("1.23E+5"), Decimal("12345678901.2345678"),
    Decimal("0.00000000000000000000000000001"), Decimal("100000000000000000000.0000"),
    Decimal("NaN"), Decimal("-NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-Infinity"),
    Decimal("12.50"), Decimal("198.22"), Decimal("99999.99"), Decimal("123456.789"),
    "1.5", "1.1234567", " 2 ", "abc", 3, 0, -2, 1.5, float("nan"), True, None, [], date(2024, 1, 1),
]
GTINS = [
    "4006381333931", "4006381333932", "96385074", "96385075", "036000291452", "036000291453",
    "10012345678902", "10012345678903", "", " 4006381333931", "4006381333931 ", "40063813339310",
    "400638133393", "٤٠٠٦٣٨١٣٣٣٩٣١", "4006381333931\n", "abcdefghijklm", 4006381333931, None,
    "00000000", "0000000000000", "\u00a04006381333931", "400638133393\u00b9", "\uff14006381333931",
]
NAMES = ["X", "", " ", "\t", "\u00a0", "\u1680", "\u3000", "\x1c", "\x1f", "\x85", "\u180e", "\u200b",
         " x ", "SKU-1", None, 7, ["x"]]
NUMBERS = ["1", "2", " 1", "1 ", "\x1c1", "\u00a01", "", "10", "01", None, 1, "1" * 21]


def _lines_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for key in ("lines",):
        if isinstance(doc.get(key), list):
            out += [x for x in doc[key] if isinstance(x, dict)]
    for order in doc.get("orders") or []:
        for pack in order.get("packs") or []:
            out += [x for x in pack.get("items") or [] if isinstance(x, dict)]
    return out


def _amount_slots(doc: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    slots = [(line, k) for line in _lines_of(doc) for k in ("quantity", "unit_price", "ordered_quantity", "amount")]
    for key in ("taxes", "allowances_charges"):
        slots += [(x, k) for x in doc.get(key) or [] if isinstance(x, dict) for k in ("amount", "rate")]
    for key in ("totals", "terms"):
        if isinstance(doc.get(key), dict):
            slots += [(doc[key], k) for k in ("total_amount", "lines_amount", "tax_amount", "discount_percent")]
    return slots


def _set_or_drop(rnd: random.Random, target: dict[str, Any], key: str, values: list[Any]) -> None:
    """One time in ten the field goes, else it takes one of ``values``."""
    if rnd.random() < 0.1:
        target.pop(key, None)
    else:
        target[key] = rnd.choice(values)


def _mutate(doc: dict[str, Any], rnd: random.Random) -> Any:
    doc = copy.deepcopy(doc)
    for _ in range(rnd.choice((1, 1, 2, 3))):
        roll = rnd.random()
        lines = _lines_of(doc)
        if roll < 0.35:
            slots = _amount_slots(doc)
            if slots:
                target, key = rnd.choice(slots)
                _set_or_drop(rnd, target, key, AMOUNTS)
        elif roll < 0.5 and lines:
            _set_or_drop(rnd, rnd.choice(lines), "gtin", GTINS)
        elif roll < 0.65 and lines:
            line = rnd.choice(lines)
            for key in ("buyer_item", "vendor_item", "gtin"):
                if rnd.random() < 0.7:
                    line.pop(key, None)
                if rnd.random() < 0.5:
                    line[key] = rnd.choice(NAMES)
        elif roll < 0.78 and lines:
            _set_or_drop(rnd, rnd.choice(lines), "line_number", NUMBERS + [str(x.get("line_number")) for x in lines])
        elif roll < 0.84:
            key = rnd.choice(["lines", "orders", "taxes", "allowances_charges"])
            if isinstance(doc.get(key), list):
                doc[key] = rnd.choice([tuple(doc[key]), [], doc[key][:1] * 2, doc[key] + doc[key], None])
            elif rnd.random() < 0.5:
                doc.pop(key, None)
        elif roll < 0.88:
            doc["idempotency_key"] = rnd.choice(["x", None])
        elif roll < 0.91 and lines:
            line = rnd.choice(lines)
            line[rnd.choice(["uom", "description", "note", "line_number"])] = rnd.choice(NAMES + NUMBERS)
        elif roll < 0.94:
            doc[rnd.choice(["purpose", "revision", "currency", "po_number"])] = rnd.choice(
                ["cancel", "change", "new", 1, -1, "usd", "", None])
        elif roll < 0.96 and isinstance(doc.get("lines"), list) and doc["lines"]:
            i = rnd.randrange(len(doc["lines"]))
            doc["lines"][i] = rnd.choice([None, "x", 5])
        elif roll < 0.98:
            return rnd.choice([None, [], "x", list(doc.items())])
    return doc


@pytest.mark.parametrize("seed", range(4))
def test_mutated_documents_validate_alike(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rnd = random.Random(seed)
    counters = {model: _Counting(model, monkeypatch) for model in {m for m, _ in DOCUMENTS}}
    for _ in range(1500):
        model, doc = rnd.choice(DOCUMENTS)
        _same(model, counters[model].validate, _mutate(doc, rnd))
    fast = sum(c.fast for c in counters.values())
    full = sum(c.full for c in counters.values())
    assert fast > 100 and full > 100, (fast, full)


def test_model_instances_and_every_document_type() -> None:
    for model, doc in DOCUMENTS:
        try:
            instance = model.model_validate(doc)
        except ValidationError:
            continue  # a golden file made to fail mapping
        validate = prechecked_validator(model)
        _same(model, validate, instance)
        dumped = instance.model_dump()
        _same(model, validate, dumped)  # with the computed key
        lines = dumped.get("lines")
        if lines:
            _same(model, validate, {**doc, "lines": [type(instance.lines[0]).model_validate(lines[0])] + lines[1:]})
    for name, model in DOCUMENT_TYPES.items():
        assert prechecked_validator(model) is prechecked_validator(model), name


@pytest.mark.parametrize("value", [v for v in AMOUNTS if isinstance(v, Decimal)] + [
    Decimal(f"{sign}{whole}.{frac}") for sign in ("", "-") for whole in ("0", "9" * 11, "9" * 12, "9" * 13)
    for frac in ("", "5", "123456", "1234567", "1234560", "0000001")])
def test_amount_look_agrees_at_the_limits(value: Decimal) -> None:
    model, doc = next((m, d) for m, d in DOCUMENTS if m.__name__ == "PurchaseOrder")
    for key in ("quantity", "unit_price"):
        changed = copy.deepcopy(doc)
        changed["lines"][0][key] = value
        _same(model, prechecked_validator(model), changed)


def test_gtin_look_agrees_with_gtin_is_valid() -> None:
    model, doc = next((m, d) for m, d in DOCUMENTS if m.__name__ == "PurchaseOrder")
    validate = prechecked_validator(model)
    rnd = random.Random(5)
    candidates = [g for g in GTINS if isinstance(g, str)]
    for _ in range(400):
        n = rnd.choice((7, 8, 9, 11, 12, 13, 14, 15))
        candidates.append("".join(rnd.choice("0123456789") for _ in range(n)))
    assert any(gtin_is_valid(g) for g in candidates) and not all(gtin_is_valid(g) for g in candidates)
    for gtin in candidates:
        changed = copy.deepcopy(doc)
        changed["lines"][-1]["gtin"] = gtin
        _same(model, validate, changed)


# Decimal digit sets besides ASCII (Arabic-Indic, Devanagari, fullwidth, mathematical bold):
# str.isdecimal() is True for each, int() reads each as its value.
_DIGIT_SETS = ["0123456789", "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669",
               "".join(chr(0x966 + i) for i in range(10)), "".join(chr(0xFF10 + i) for i in range(10)),
               "".join(chr(0x1D7CE + i) for i in range(10))]


def _gtin_valid(gtin: str) -> bool:
    try:
        return gtin_is_valid(gtin)
    except ValueError:  # a digit int() refuses: the model reports it as an error too
        return False


def test_gtin_look_agrees_on_digits_other_than_ascii(monkeypatch: pytest.MonkeyPatch) -> None:
    """The look asks ``isdecimal()`` where it asked ``isascii() and isdigit()``: GTINs written
    (wholly or partly) in other decimal digits now take the lighter way, and must validate as
    ``model_validate`` does; digits ``int()`` refuses (superscripts) must not."""
    model, doc = next((m, d) for m, d in DOCUMENTS if m.__name__ == "PurchaseOrder")
    counting = _Counting(model, monkeypatch)
    rnd = random.Random(9)
    candidates = ["4006381333931", "\u00b2006381333931", "400638133393\u00b9", "4006381333\u2460931"]
    for _ in range(600):
        n = rnd.choice((8, 12, 13, 14, 11))
        body = [rnd.randrange(10) for _ in range(n)]
        sets = rnd.sample(_DIGIT_SETS, 2)
        candidates.append("".join(rnd.choice(sets)[d] for d in body))
    valid = [g for g in candidates if _gtin_valid(g)]
    assert any(not g.isascii() for g in valid) and len(valid) < len(candidates)
    for gtin in candidates:
        changed = copy.deepcopy(doc)
        changed["lines"][-1]["gtin"] = gtin
        before = counting.fast
        _same(model, counting.validate, changed)
        if gtin in valid:
            assert counting.fast == before + 1, gtin  # the lighter way
        else:
            assert counting.fast == before, gtin


def test_the_lighter_validator_alone_would_differ() -> None:
    """Without the look, the lighter validator lets through what the model refuses: so the
    comparisons above can fail."""
    model, doc = next((m, d) for m, d in DOCUMENTS if m.__name__ == "PurchaseOrder")
    fast = prechecked_validator(model).__globals__["FAST"]
    for line_change in ({"gtin": "4006381333932"}, {"quantity": Decimal("1.1234567")},
                        {"buyer_item": None, "vendor_item": " ", "gtin": None}):
        changed = copy.deepcopy(doc)
        changed["lines"][0].update(line_change)
        assert _outcome(fast, changed) != _outcome(model.model_validate, changed)
    changed = copy.deepcopy(doc)
    changed["lines"].append(dict(changed["lines"][0]))
    assert _outcome(fast, changed) != _outcome(model.model_validate, changed)
