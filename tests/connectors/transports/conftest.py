"""AS2 test fixtures: mock-edi as a subprocess, a SQLite inbox, certificates."""

from __future__ import annotations

import sys
from pathlib import Path

# tests/ is not an installed package; make `tests.support` importable however pytest runs.
_ROOT = str(Path(__file__).resolve().parents[3])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.support.mock_edi import mock_edi, mock_edi_factory  # noqa: E402, F401
