"""The validator's shortcuts agree with the full checks they stand in for.

``_fast_check`` may only say "plainly valid" where ``check_value`` finds nothing, and the
hand-cut dates must accept exactly what ``strptime`` accepts; findings depend on both.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest

from connectors.formats import edifact_dictionary, x12_dictionary
from connectors.formats.dictionary import Element
from connectors.formats.validator_elements import _fast_check, _is_date, check_value

SAMPLES = ["0", "7", "12", "12.5", "12.50", ".5", "5.", ".", "-3", "1,5", "12.5.", "00042",
           "EA", "PCE", "BY", "ZZZ", "A B", "x\x01y", "é", "٣", "²", "\u00a0", "WIDGET 12MM",
           "20240115", "240229", "0930", "9" * 20, "A" * 90]


def _rules() -> list[tuple[Element, dict[str, frozenset[str]]]]:
    out = []
    for dictionary in (x12_dictionary, edifact_dictionary):
        for seg in dictionary.SEGMENTS.values():
            for element in seg.elements:
                out += [(c, dictionary.CODES) for c in element.components]
                if element.kind != "C":
                    out.append((element, dictionary.CODES))
    return out


def test_fast_check_never_passes_what_check_value_refuses() -> None:
    rnd = random.Random(3)
    checked = 0
    for rule, codes in _rules():
        fast = _fast_check(rule, codes)
        if fast is None:
            continue
        values = SAMPLES + sorted(codes[rule.codes])[:20] if rule.codes else SAMPLES
        values = values + ["".join(rnd.choice("0123456789.") for _ in range(rnd.randrange(1, 9)))
                           for _ in range(20)]
        for value in values:
            if fast(value):
                assert check_value(rule, value, codes) is None, (rule, value)
                checked += 1
    assert checked > 1000


@pytest.mark.parametrize("layout", ["%Y%m%d", "%y%m%d"])
def test_hand_cut_dates_match_strptime(layout: str) -> None:
    def strptime_accepts(value: str) -> bool:
        try:
            dt.datetime.strptime(value, layout)
        except ValueError:
            return False
        return True

    years = ["2024", "2023", "2000", "1900", "0000", "9999"] if layout == "%Y%m%d" else [
        "00", "24", "68", "69", "99"]
    values = [f"{y}{md:04d}" for y in years for md in range(0, 10000, 7)]
    values += ["2024011", "202401150", "٢٠٢٤٠١١٥", "2024 115", "240229", "230229"]
    for value in values:
        assert _is_date(value, layout) == strptime_accepts(value), value
