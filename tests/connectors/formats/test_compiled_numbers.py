"""The compiled checks' numeric expressions (X12 ``R``, EDIFACT ``n``), written with one
``strip`` of the ASCII digits, answer what they answered written with ``replace``,
``isascii`` and ``isdigit`` — and what ``_fast_check``'s ``real()`` / ``numeric()`` answer —
for every value of a corpus of numbers, near-numbers and odd characters, at several lengths.
"""

from __future__ import annotations

import random

import pytest

from connectors.formats.dictionary import Element
from connectors.formats.validator_compiled import _compile, _expr, _length
from connectors.formats.validator_elements import _fast_check

VALUES = ["0", "7", "12", "12.5", ".5", "5.", ".", "..", "1..2", "1.2.3", "-3", "+3", "-.5", "1,5",
          "1e5", "1E5", " 1", "1 ", "1_000", "٣", "1٣", "²", "12²", "１２", "0.0", "00042", "9" * 15,
          "9" * 16, "9" * 17, "9" * 15 + ".", "." + "9" * 15, "9" * 8 + "." + "9" * 8, "\x00", "1\x00",
          "NaN", "Infinity", "1.", "0.", ".0", "1.5.", "12.50", "198.22", "99999.99"]


def _corpus() -> list[str]:
    rnd = random.Random(17)
    out = list(VALUES)
    for _ in range(4000):
        alphabet = rnd.choice(("0123456789.", "0123456789..-", "0123456789٣²., e"))
        out.append("".join(rnd.choice(alphabet) for _ in range(rnd.randrange(1, 22))))
    return out


def _before(kind: str, lo: int, hi: int) -> str:
    """``validator_compiled._expr`` for ``R`` and ``n`` as it was."""
    if kind == "R":
        return f"(d := x.replace('.', '', 1)).isascii() and d.isdigit() and {_length('d', lo, hi)}"
    return (f"x[0] != '.' and (d := x.replace('.', '', 1)).isascii() and d.isdigit() "
            f"and {_length('d', lo, hi)}")


@pytest.mark.parametrize("kind", ["R", "n"])
@pytest.mark.parametrize(("lo", "hi"), [(0, 1), (1, 1), (1, 2), (1, 15), (1, 18), (2, 2), (2, 5),
                                        (3, 10), (0, 35)])
def test_numeric_expression_answers_as_before(kind: str, lo: int, hi: int) -> None:
    rule = Element(False, kind, lo, hi)
    ns: dict[str, object] = {"DIGITS": "0123456789"}
    new = eval(f"lambda x: bool({_expr(rule, {}, ns, 't')})", ns)
    old = eval(f"lambda x: bool({_before(kind, lo, hi)})")
    fast = _fast_check(rule, {})
    assert fast is not None
    passed = 0
    for value in _corpus():
        want = old(value)
        assert new(value) == want, (kind, lo, hi, value)
        assert fast(value) == want, (kind, lo, hi, value)
        passed += want
    assert passed > 20


def test_compiled_segment_uses_the_strip() -> None:
    """The generated check holds the new expression (so the test above tests what runs)."""
    from connectors.formats import x12_dictionary

    check = _compile(x12_dictionary.SEGMENTS["PO1"], x12_dictionary.CODES, x12=True)
    assert "strip" in check.__code__.co_names and "replace" not in check.__code__.co_names
