"""The compiled segment checks written with short jumps (``if w <= c: … else: …`` for the
further components of a composite) answer what they answered written as ``if w > c:``
blocks closed by their ``else``: for random segments of every dictionary segment, nested
and (X12) flat, clean and not.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from connectors.formats import validator_compiled
from connectors.formats.dictionary import SegmentDef
from connectors.formats.segments import Segment
from tests.connectors.formats.test_compiled_paths import DICTIONARIES, _random_elements


def _body_reference(rule: SegmentDef, codes: dict[str, frozenset[str]], ns: dict[str, Any], *,
          flat: bool, x12: bool) -> list[str]:
    """``validator_compiled._body`` as it was: ``if w > c:`` around each further component
    of a composite, its ``else`` closing after the nested ones."""
    # ``check_elements`` reports a mandatory element past the last one the segment carries.
    least = max((i + 1 for i, e in enumerate(rule.elements) if e.required), default=0)
    lines = ["    n = len(els)", f"    if n < {least}:", "        return False"]
    pad = "    "
    for i, element in enumerate(rule.elements):
        if i >= least:
            # Past the last mandatory element the segment may end: nothing further to check.
            lines += [f"    if n <= {i}:", "        return True" if x12 or rule.tag != "DTM"
                      else "        return _edifact_date(els)"]
        if element.kind == "C":
            # A flat value is the composite's only component: any(f) is the value itself.
            if flat:
                lines += [f"{pad}x = els[{i}]", f"{pad}if x:"]
            else:  # any(f) is asked only when the first component is empty
                lines += [f"{pad}f = els[{i}][0]", f"{pad}w = len(f)", f"{pad}x = f[0] if w else ''",
                          f"{pad}if x or any(f):"]
            lines.append(f"{pad}    pass")
            inner = pad  # the nested components below are read only while the composite has them
            closes: list[list[str]] = []
            for c, component in enumerate(element.components):
                if flat and c:
                    if component.required:
                        lines.append(f"{pad}    return False")
                    continue
                if not flat and c:
                    # Past the composite's last component every value is empty: only a
                    # mandatory one left makes a finding.
                    rest = any(k.required for k in element.components[c:])
                    lines += [f"{inner}    if w > {c}:", f"{inner}        x = f[{c}]"]
                    closes.append([f"{inner}    else:", f"{inner}        return False"] if rest else [])
                    inner += "    "
                lines += [f"{inner}    if x:",
                          f"{inner}        if not ({validator_compiled._expr(component, codes, ns, f'{i}_{c}')}):",
                          f"{inner}            return False"]
                if component.required:
                    lines += [f"{inner}    else:", f"{inner}        return False"]
            for close in reversed(closes):
                lines += close
            if element.required:
                lines += [f"{pad}else:", f"{pad}    return False"]
            continue
        if flat:
            lines.append(f"{pad}x = els[{i}]")
        else:
            lines += [f"{pad}f = els[{i}][0]", f"{pad}x = f[0] if f else ''"]
        lines += [f"{pad}if x:", f"{pad}    if not ({validator_compiled._expr(element, codes, ns, str(i))}):",
                  f"{pad}        return False"]
        if x12 and not flat:  # a component separator inside a simple X12 element is an error
            lines += [f"{pad}    if len(f) != 1:", f"{pad}        return False"]
        if element.required:
            lines += [f"{pad}else:", f"{pad}    return False"]
    if not x12 and rule.tag == "DTM":
        lines.append("    return _edifact_date(els)")
    else:
        lines.append("    return True")
    return lines


@pytest.mark.parametrize(("dictionary", "x12"), DICTIONARIES, ids=["x12", "edifact"])
def test_short_jump_checks_answer_as_the_nested_blocks(dictionary: Any, x12: bool,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    codes = dictionary.CODES
    rules = dictionary.SEGMENTS
    checks = {tag: validator_compiled._compile(rule, codes, x12=x12) for tag, rule in rules.items()}
    with monkeypatch.context() as patch:
        patch.setattr(validator_compiled, "_body", _body_reference)
        reference = {tag: validator_compiled._compile(rule, codes, x12=x12)
                     for tag, rule in rules.items()}
    rnd = random.Random(21)
    passed = failed = 0
    for tag, rule in rules.items():
        for _ in range(300):
            elements = _random_elements(rnd, rule, codes)
            if rnd.random() < 0.3:  # short composites: components left off at the end
                elements = [[e[0][:rnd.randrange(1, len(e[0]) + 1)]] for e in elements]
            segs = [Segment(tag, elements, 3)]
            if x12 and all(len(e[0]) == 1 for e in elements):
                segs.append(Segment.flat(tag, [e[0][0] for e in elements]))
            for seg in segs:
                answer = checks[tag](seg)
                assert answer == reference[tag](seg), (tag, elements)
                passed += answer
                failed += not answer
    assert passed > 500 and failed > 500
