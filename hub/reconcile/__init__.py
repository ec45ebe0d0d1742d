"""Reconciliation jobs of the hub: the hub's documents against the ERP, recorded runs, cases.

Usage:
    >>> from hub.reconcile import JOBS
    >>> JOBS
    ('sales_orders', 'billing', 'supplier_postings', 'partner_documents')
"""

from __future__ import annotations

from hub.reconcile.runner import JOBS, Reconciler, UnknownJob

__all__ = ["JOBS", "Reconciler", "UnknownJob"]
