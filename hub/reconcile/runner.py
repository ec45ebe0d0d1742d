"""Run reconciliation jobs: gather, compare, record the run, open a case per difference.

Jobs: ``sales_orders`` (every accepted order has exactly one sales order with the same
quantities; no ERP order of our customers without a hub order), ``billing`` (every
delivery of the hub's orders is billed) and ``supplier_postings`` (every supplier 856 has a
goods receipt, every supplier 810 a supplier invoice for its amount and purchase order) and
``partner_documents`` (every confirmation, delivery and billing document of the hub's orders
went to the customer as 855/856/810, was acknowledged in time, and an 810 bills what the ERP
billed); ``all`` runs them all. ``sales_orders`` compares values (quantity x price) too. A difference already in an open
case of the same type and subject is counted again but not opened twice.

A run compares the last ``CROSSDOCK_RECONCILE_WINDOW_DAYS`` days (``Reconciler(window_days=...)``):
what the hub received and what changed in the ERP since then, each completed by key from the
other side; see :mod:`hub.reconcile.window` for the edges.

Usage:
    run_id = Reconciler(db).run("all", trigger="cli", actor="cli:ops")
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import select

from hub.erp.destination import gateway_for
from hub.erp.suppliers import supplier_targets
from hub.ops.cases import event
from hub.reconcile.edi_gather import edi_customers, erp_partner_documents, sent_edi
from hub.reconcile.gather import (
    CLOSED_CASES,
    ErpScope,
    billing_view,
    erp_orders,
    erp_orders_for,
    erp_postings,
    erp_scopes,
    hub_orders,
    hub_orders_for,
    read_deliveries,
    supplier_documents,
)
from hub.reconcile.window import Window
from hub.settings import get_settings
from hub.storage.db import Database
from hub.storage.reconcile_tables import ReconcileRun
from hub.storage.tables import Case, utcnow
from pipelines.reconcile import (
    HubOrder,
    Mismatch,
    Report,
    reconcile_billing,
    reconcile_partner_documents,
    reconcile_sales_orders,
    reconcile_supplier_postings,
)

__all__ = ["JOBS", "Reconciler", "UnknownJob"]

log = structlog.get_logger("crossdock.reconcile")
JOBS = ("sales_orders", "billing", "supplier_postings", "partner_documents")
ACTOR = "reconcile"


class UnknownJob(ValueError):
    """Not one of :data:`JOBS` or ``all``."""


class Reconciler:
    """Runs the jobs against every ERP the partners' ``sap_s4`` destinations name."""

    def __init__(self, db: Database, *, send_within: timedelta = timedelta(hours=1),
                 window_days: float | None = None) -> None:
        self.db = db
        self.send_within = send_within  # an 855/856/810 still queued after this is unsent
        # how far back a run looks (0: everything); default CROSSDOCK_RECONCILE_WINDOW_DAYS
        self.window_days = get_settings().reconcile_window_days if window_days is None else window_days
        self._scheduled_once = False

    def run(self, job: str = "all", *, trigger: str = "cli", actor: str | None = None) -> int:
        """Run ``job`` (or ``all``) now; returns the run's id. A failure is recorded on the run."""
        if job != "all" and job not in JOBS:
            raise UnknownJob(f"unknown reconciliation job {job!r}: one of {', '.join(JOBS)} or all")
        with self.db.session() as s:
            run = ReconcileRun(job=job, trigger=trigger, actor=actor, status="running")
            s.add(run)
            s.flush()
            run_id = run.id
        try:
            report = self._compare(JOBS if job == "all" else (job,))
        except Exception as exc:  # the ERP away, a bad profile: the run says so, the next one tries again
            log.warning("reconcile.failed", run_id=run_id, job=job, error=str(exc)[:300])
            with self.db.session() as s:
                failed = s.get(ReconcileRun, run_id)
                assert failed is not None
                failed.status, failed.finished_at, failed.error = "failed", utcnow(), str(exc)[:4000]
            return run_id
        with self.db.session() as s:
            found = [self._case_for(s, m, run_id) for m in report.mismatches]
            done = s.get(ReconcileRun, run_id)
            assert done is not None
            done.status, done.finished_at = "finished", utcnow()
            done.checked, done.matched, done.mismatched = report.checked, report.matched, report.mismatched
            done.details = {"mismatches": found}
        log.info("reconcile.finished", run_id=run_id, job=job, checked=report.checked, matched=report.matched,
                 mismatched=report.mismatched)
        return run_id

    def scheduled(self) -> None:
        """For ``Scheduler.every``: the first tick is at start, so the first run waits one interval."""
        if self._scheduled_once:
            self.run("all", trigger="schedule")
        self._scheduled_once = True

    # ---------------------------------------------------------------------- internals
    def window(self) -> Window:
        """The window a run started now compares."""
        return Window.last(self.window_days, now=utcnow())

    def _compare(self, jobs: tuple[str, ...]) -> Report:
        report = Report("+".join(jobs))
        window = self.window()
        windowed = window.start is not None
        with self.db.reader() as s:
            scopes = [(scope, *hub_orders(s, scope, start=window.start)) for scope in erp_scopes(s)]
        for scope, orders, since in scopes:
            gateway = gateway_for(scope.connection)
            if "sales_orders" in jobs:
                erp = erp_orders(gateway, since=window.erp_since())
                if windowed:  # the other side of what each side returned, whatever its age
                    known = {(o.sold_to, o.customer_po) for o in orders}
                    orders = self._more_orders(scope, orders, customer_pos={
                        (so.sold_to, so.customer_po) for so in erp
                        if so.sold_to in scope.sold_to_parties and (so.sold_to, so.customer_po) not in known})
                    erp = erp + erp_orders_for(gateway, orders, erp)
                part = reconcile_sales_orders(orders, erp, sold_to_parties=scope.sold_to_parties,
                                              since=since)
                report = report.merge(part)
            if "billing" not in jobs and "partner_documents" not in jobs:
                continue
            deliveries, billing_documents = read_deliveries(gateway, since=window.erp_since(),
                                                            billed_since=window.billing_since())
            first = window.first_day  # billing documents were read one window further back
            recent = [b for b in billing_documents if first is None or b.billing_date is None or b.billing_date >= first]
            if windowed:  # a delivery or billing document in the window of an older order
                orders = self._more_orders(scope, orders, sales_orders={
                    *(i.sales_order for d in deliveries for i in d.items),
                    *(i.sales_order for b in recent for i in b.items)})
            if "billing" in jobs:
                shipped, billed = billing_view(deliveries, billing_documents, dated_from=window.first_day)
                ours = {o.erp_number: o for o in orders if o.erp_number}
                report = report.merge(reconcile_billing(shipped, billed, hub_sales_orders=ours))
            if "partner_documents" in jobs:
                with self.db.reader() as s:
                    customers = edi_customers(s, scope)
                expected = erp_partner_documents(gateway, orders, customers, deliveries=deliveries,
                                                 billing_documents=recent)
                with self.db.reader() as s:
                    sent = sent_edi(s, expected)
                report = report.merge(reconcile_partner_documents(expected, sent, now=utcnow(),
                                                                  send_within=self.send_within))
        if "supplier_postings" in jobs:
            with self.db.reader() as s:
                suppliers = [(target, supplier_documents(s, partner_id, start=window.start))
                             for partner_id, target in supplier_targets(s)]
            for target, documents in suppliers:
                postings = erp_postings(gateway_for(target.connection), target, documents)
                report = report.merge(reconcile_supplier_postings(documents, postings))
        report.job = "+".join(jobs)
        return report

    def _more_orders(self, scope: ErpScope, orders: list[HubOrder], *,
                     customer_pos: set[tuple[str, str]] | None = None,
                     sales_orders: set[str] | None = None) -> list[HubOrder]:
        """``orders`` and the hub's orders (any age) behind these customer POs or sales orders."""
        have = {o.erp_number for o in orders}
        numbers = (sales_orders or set()) - have - {""}
        if not customer_pos and not numbers:
            return orders
        with self.db.reader() as s:
            found = hub_orders_for(s, scope, customer_pos=customer_pos or (), sales_orders=numbers)
        seen = {(o.partner_id, o.business_key) for o in orders}
        return orders + [o for o in found if (o.partner_id, o.business_key) not in seen]

    def _case_for(self, s: Any, mismatch: Mismatch, run_id: int) -> dict[str, Any]:
        kind = f"reconcile.{mismatch.kind}"
        existing = s.scalar(select(Case.id).where(Case.type == kind, Case.business_key == mismatch.subject,
                                                  Case.status.not_in(CLOSED_CASES)).limit(1))
        out = {"kind": mismatch.kind, "subject": mismatch.subject, "summary": mismatch.summary,
               "document_id": mismatch.document_id, "new_case": existing is None}
        if existing is not None:
            return {**out, "case_id": existing}
        case = Case(type=kind, severity=mismatch.severity, partner_id=mismatch.partner_id,
                    document_id=mismatch.document_id, summary=mismatch.summary[:2000], business_key=mismatch.subject,
                    details={**mismatch.details, "reconcile_run_id": run_id, "kind": mismatch.kind})
        s.add(case)
        s.flush()
        event(s, case, actor=ACTOR, action="opened", reason=f"reconciliation run {run_id}",
              details={"run_id": run_id})
        return {**out, "case_id": case.id}
