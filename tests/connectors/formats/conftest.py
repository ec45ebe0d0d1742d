from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture
def golden() -> Callable[[str], bytes]:
    """The bytes of a golden inbound document by file name."""
    return lambda name: (GOLDEN / "in" / name).read_bytes()


@pytest.fixture
def counters() -> Callable[[str], int]:
    """A fresh control-number source per kind, as the hub would persist them."""
    counts: dict[str, itertools.count[int]] = {}

    def next_number(kind: str) -> int:
        return next(counts.setdefault(kind, itertools.count(1)))

    return next_number
