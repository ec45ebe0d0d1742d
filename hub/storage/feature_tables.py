"""Imports every feature's table module so ``Base.metadata`` holds the whole schema.

A feature adds ``hub/storage/<feature>_tables.py`` (its models on ``hub.storage.tables.Base``)
plus a migration on its own branch off ``0001``, and one import line below.
"""

from __future__ import annotations

from hub.storage import (
    edi_tables,  # noqa: F401
    intel_tables,  # noqa: F401
    ops_tables,  # noqa: F401
    reconcile_tables,  # noqa: F401
)
