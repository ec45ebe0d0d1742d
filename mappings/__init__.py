"""Declarative maps between EDI transaction sets (and JSON/CSV records) and canonical documents.

Usage:
    >>> from mappings import load_map
    >>> load_map("x12", "850", "inbound").document_type
    'purchase_order'
"""

from mappings.engine import Map, load_map, map_transaction, render
from mappings.overrides import PartnerOverrides
from mappings.records import RecordMap, load_record_map
from mappings.spec import MapSpec, load_spec

__all__ = [
    "Map",
    "MapSpec",
    "PartnerOverrides",
    "RecordMap",
    "load_map",
    "load_record_map",
    "load_spec",
    "map_transaction",
    "render",
]
