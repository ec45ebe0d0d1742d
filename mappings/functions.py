"""The few transforms a map cannot express, registered by name.

Two kinds, both plain functions:

* **document functions** ``(doc: dict) -> None`` run over the whole document dict, after
  an inbound map has filled it (``inbound_functions``) or before an outbound map reads it
  (``outbound_functions``) — e.g. derive an order's revision from its purpose;
* **element functions** ``(obj: dict, doc: dict) -> str | None`` compute one outbound
  element from the object being written — e.g. ITD01 from whether a discount is offered.

Usage:
    >>> from mappings.functions import document_function
    >>> doc = {"purpose": "change"}
    >>> document_function("order_revision")(doc)
    >>> doc["revision"]
    1
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

__all__ = [
    "DocumentFunction",
    "ElementFunction",
    "document_function",
    "element_function",
    "register_document_function",
    "register_element_function",
]

Doc = dict[str, Any]
DocumentFunction = Callable[[Doc], None]
ElementFunction = Callable[[Doc, Doc], "str | None"]

_DOCUMENT: dict[str, DocumentFunction] = {}
_ELEMENT: dict[str, ElementFunction] = {}


def register_document_function(name: str) -> Callable[[DocumentFunction], DocumentFunction]:
    def deco(fn: DocumentFunction) -> DocumentFunction:
        _DOCUMENT[name] = fn
        return fn

    return deco


def register_element_function(name: str) -> Callable[[ElementFunction], ElementFunction]:
    def deco(fn: ElementFunction) -> ElementFunction:
        _ELEMENT[name] = fn
        return fn

    return deco


def document_function(name: str) -> DocumentFunction:
    try:
        return _DOCUMENT[name]
    except KeyError:
        raise KeyError(f"unknown document function {name!r} (known: {', '.join(sorted(_DOCUMENT))})") from None


def element_function(name: str) -> ElementFunction:
    try:
        return _ELEMENT[name]
    except KeyError:
        raise KeyError(f"unknown element function {name!r} (known: {', '.join(sorted(_ELEMENT))})") from None


@register_document_function("order_revision")
def _order_revision(doc: Doc) -> None:
    # The rule: an explicit revision number (X12 REF*PP, EDIFACT RFF+PP, 860 BCH05) wins;
    # without one an original is revision 0 and a change or cancel is revision 1, so a
    # change never collides with the original's idempotency key.
    if doc.get("revision") is None:
        doc["revision"] = 0 if doc.get("purpose", "new") == "new" else 1


@register_document_function("change_purpose")
def _change_purpose(doc: Doc) -> None:
    # An 860 or ORDCHG is a change unless it says cancel; "new" would be a lie.
    if doc.get("purpose") in (None, "new"):
        doc["purpose"] = "change"


@register_document_function("ack_line_status")
def _ack_line_status(doc: Doc) -> None:
    # An ORDRSP line without an action code says its verdict by quantities (ordered
    # QTY+21 against confirmed QTY+113): none confirmed is a rejection, fewer a change.
    # A backorder quantity (QTY+83) on a changed line (D96A has no backorder action code)
    # says the rest comes later: the line is backordered, not cut.
    for line in doc.get("lines") or []:
        backorder = line.pop("_shortfall", None)
        if backorder and backorder > 0 and line.get("status") in (None, "changed"):
            line["status"] = "backordered"
        ordered, confirmed = line.get("ordered_quantity"), line.get("quantity")
        if confirmed is None:
            line["quantity"] = confirmed = ordered
        if line.get("status") is None and confirmed is not None:
            if confirmed <= 0:
                line["status"] = "rejected"
            elif ordered is not None and confirmed < ordered:
                line["status"] = "changed"
            else:
                line["status"] = "accepted"


@register_document_function("ack_status")
def _ack_status(doc: Doc) -> None:
    if doc.get("status") is not None:
        return
    statuses = {line.get("status") for line in doc.get("lines") or []}
    if statuses and statuses <= {"rejected"}:
        doc["status"] = "rejected"
    elif statuses <= {"accepted"}:
        doc["status"] = "accepted"
    else:
        doc["status"] = "accepted_with_changes"


@register_document_function("invoice_totals")
def _invoice_totals(doc: Doc) -> None:
    # X12 states only the grand total (TDS01); the parts are sums a reader can rely on.
    totals = doc.setdefault("totals", {})
    lines = doc.get("lines") or []
    if totals.get("lines_amount") is None and lines:
        # A line missing its quantity or price leaves the sum out: validation names the line.
        with contextlib.suppress(KeyError, TypeError):
            totals["lines_amount"] = sum(
                (ln["amount"] if ln.get("amount") is not None else ln["quantity"] * ln["unit_price"]
                 for ln in lines),
                Decimal(0),
            )
    if totals.get("tax_amount") is None and doc.get("taxes"):
        totals["tax_amount"] = sum((t.get("amount") or Decimal(0) for t in doc["taxes"]), Decimal(0))


@register_element_function("itd_terms_type")
def _itd_terms_type(obj: Doc, _doc: Doc) -> str | None:
    # 08 "basic discount offered" when there is a discount, else 01 "basic".
    return "08" if obj.get("discount_percent") else "01"


@register_element_function("hl_structure")
def _hl_structure(_obj: Doc, doc: Doc) -> str | None:
    # BSN05 declares the levels used: 0001 S/O/P/I when any pack has an SSCC, else 0004 S/O/I.
    packed = any(p.get("sscc") for o in doc.get("orders") or [] for p in o.get("packs") or [])
    return "0001" if packed else "0004"


@register_element_function("ack_type_edifact")
def _ack_type_edifact(_obj: Doc, doc: Doc) -> str | None:
    return {"accepted": "AP", "accepted_with_changes": "AC", "rejected": "RE"}.get(doc.get("status") or "")


@register_document_function("omit_zero_revision")
def _omit_zero_revision(doc: Doc) -> None:
    # Revision 0 is the original: saying REF*PP*0 would only invite questions.
    if not doc.get("revision"):
        doc["revision"] = None


@register_element_function("ack_date_qualifier")
def _ack_date_qualifier(obj: Doc, _doc: Doc) -> str | None:
    # ACK04 qualifies ACK05; with no scheduled date there is nothing to qualify.
    return "067" if obj.get("scheduled_date") else None


def _change_number(po: object, revision: object) -> str:
    # A change request's own number: "<po>-<sequence>" (ORDCHG BGM 1004, ORDRSP RFF+CR).
    return f"{po}-{revision}"


def _change_revision(number: str | None, po: str | None) -> int | None:
    # The inverse of _change_number; another shape names no revision.
    if number and po and number.startswith(f"{po}-") and number[len(po) + 1:].isdigit():
        return int(number[len(po) + 1:])
    return None


@register_document_function("ordchg_revision")
def _ordchg_revision(doc: Doc) -> None:
    # BGM 1004 of an ORDCHG is the request's own number; the order itself is named by RFF+ON.
    # "<po>-<sequence>" gives the revision. A number of another shape (a buyer's own document
    # numbering) says nothing about revision: the change reads as revision 1 and keeps its
    # number (change_number), which tells it apart from the order's other changes and is
    # echoed in the answer.
    number = doc.pop("_change_number", None)
    po = doc.get("po_number")
    revision = _change_revision(number, po)
    if revision is not None:
        doc.setdefault("revision", revision)
    elif number and not po:
        doc["po_number"] = number
    elif number:
        doc["change_number"] = number


@register_document_function("ordchg_number")
def _ordchg_number(doc: Doc) -> None:
    doc["_change_number"] = doc.get("change_number") or _change_number(doc.get("po_number"), doc.get("revision") or 1)


@register_document_function("ack_change_number")
def _ack_change_number(doc: Doc) -> None:
    # An ORDRSP answering an ORDCHG (revision > 0) names the change it answers (RFF+CR) by
    # the change request's number: the buyer's own where it gave one of another shape,
    # else "<po>-<revision>"; an answer to the order names none.
    if doc.get("change_number"):
        doc["_change_number"] = doc["change_number"]
    elif doc.get("revision"):
        doc["_change_number"] = _change_number(doc.get("po_number"), doc["revision"])


@register_document_function("ack_change_revision")
def _ack_change_revision(doc: Doc) -> None:
    # The revision an ORDRSP answers, from the change request it names (RFF+CR); a customer
    # reference of another shape names no change, and the answer is to the order itself.
    revision = _change_revision(doc.pop("_change_number", None), doc.get("po_number"))
    if revision is not None:
        doc.setdefault("revision", revision)


@register_element_function("ack_message_function")
def _ack_message_function(_obj: Doc, doc: Doc) -> str | None:
    # ORDRSP BGM 1225: 9 (original) answers the order, 4 (change) answers a change to it.
    return "4" if doc.get("revision") else "9"


@register_document_function("ack_shortfall")
def _ack_shortfall(doc: Doc) -> None:
    # ORDRSP states what a backordered line ships later as QTY+83 (backorder quantity)
    # beside QTY+113; a line cut to less (changed) has no backorder and no QTY+83.
    for line in doc.get("lines") or []:
        ordered, confirmed = line.get("ordered_quantity"), line.get("quantity")
        if line.get("status") == "backordered" and ordered is not None and confirmed is not None \
                and confirmed < ordered:
            line["_shortfall"] = ordered - confirmed


# An X12 855 or 865 line (x12_855.yaml, x12_865.yaml) says its verdict in ACK segments:
# usually one, but a line partly filled from stock is two, BP (accepted, partial shipment,
# balance backordered) with what ships now and IB with the balance, and a supplier may split
# a line over several ACKs (IA 6 + IB 4). The maps read and write them as ``_acks``;
# "partially_backordered" (BP's value in the maps' code lists) lives only there.
_PARTIAL = "partially_backordered"
_NOT_NOW = ("backordered", "rejected")


@register_document_function("ack_portions")
def _ack_portions(doc: Doc) -> None:
    # Outbound: one ACK per line, or BP + IB when a backordered line ships part of it now.
    for line in doc.get("lines") or []:
        ordered, quantity = line.get("ordered_quantity"), line.get("quantity")
        first = {k: line.get(k) for k in ("status", "quantity", "uom", "scheduled_date")}
        if (line.get("status") == "backordered" and ordered is not None and quantity is not None
                and 0 < quantity < ordered):
            line["_acks"] = [{**first, "status": _PARTIAL},
                             {"status": "backordered", "quantity": ordered - quantity, "uom": line.get("uom")}]
        else:
            line["_acks"] = [first]


@register_document_function("ack_portions_read")
def _ack_portions_read(doc: Doc) -> None:
    # Inbound: a line's ACKs as one verdict. A single ACK is the line's status, quantity and
    # date as written; several add up what is confirmed now (all but IB and IR), and the line
    # is backordered when any part waits (IB, BP), rejected when every part is refused.
    for line in doc.get("lines") or []:
        acks = [a for a in line.pop("_acks", None) or [] if a]
        if not acks:
            continue
        statuses = ["backordered" if a.get("status") == _PARTIAL else a.get("status") for a in acks]
        now = [a for a in acks if a.get("status") not in _NOT_NOW]  # BP's part ships now
        if len(acks) == 1:
            status, quantity = statuses[0], acks[0].get("quantity")
        else:
            status = ("rejected" if set(statuses) == {"rejected"} else
                      "backordered" if "backordered" in statuses else
                      "accepted" if set(statuses) == {"accepted"} else "changed")
            quantity = sum((a["quantity"] for a in now if a.get("quantity") is not None), Decimal(0))
        if status is not None:
            line["status"] = status
        if quantity is not None:
            line["quantity"] = quantity
        dated = next((a for a in (now or acks[:1]) if a.get("scheduled_date") is not None), None)
        if dated is not None:
            line["scheduled_date"] = dated["scheduled_date"]
        if acks[0].get("uom") is not None:
            line["uom"] = acks[0]["uom"]


@register_element_function("first_po_number")
def _first_po_number(_obj: Doc, doc: Doc) -> str | None:
    # A DESADV line's RFF+ON names the order it ships against; a message carries one order.
    orders = doc.get("orders") or []
    return orders[0].get("po_number") if orders else None
