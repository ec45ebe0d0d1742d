"""The exception taxonomy: one table, in code as data.

Every case Crossdock opens has a ``code`` from this table, which gives it a category
(business or technical), a title, a default severity, the queue that owns it, the
recommended actions and how many hours the owner has to resolve it.

Usage:
    >>> exception_type("price_discrepancy").owner
    <Owner.CUSTOMER_SERVICE: 'customer-service'>
    >>> [a.name for a in exception_type("carrier_api_failure").actions][:1]
    ['switch_to_fallback_carrier']
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "ACTIONS",
    "TAXONOMY",
    "Action",
    "Category",
    "ExceptionType",
    "Owner",
    "Severity",
    "exception_type",
]


class Category(StrEnum):
    BUSINESS = "business"
    TECHNICAL = "technical"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_ORDER.index(self)

    def raised(self, steps: int = 1) -> Severity:
        """This severity ``steps`` levels higher, capped at critical."""
        return _SEVERITY_ORDER[min(self.rank + steps, len(_SEVERITY_ORDER) - 1)]


_SEVERITY_ORDER = (Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL)


class Owner(StrEnum):
    CUSTOMER_SERVICE = "customer-service"
    PURCHASING = "purchasing"
    WAREHOUSE = "warehouse"
    ACCOUNTS_PAYABLE = "accounts-payable"
    ACCOUNTS_RECEIVABLE = "accounts-receivable"
    CREDIT = "credit"
    MASTER_DATA = "master-data"
    INTEGRATION = "integration"


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    description: str


ACTIONS: dict[str, Action] = {a.name: a for a in (
    Action("split_ship_from_alternate_warehouse", "Ship the short quantity from a warehouse that has it"),
    Action("backorder_remaining", "Confirm what is available and backorder the rest"),
    Action("offer_substitute", "Offer the customer an equivalent item"),
    Action("recount_stock", "Cycle-count the item; available stock below zero means the books are wrong"),
    Action("accept_price_difference", "Accept the partner's price for this order"),
    Action("reject_price", "Reject the price and send the contract price back"),
    Action("update_price_list", "Correct the contract price list"),
    Action("hold_for_credit_review", "Hold the order until credit approves it"),
    Action("request_prepayment", "Ask the customer to prepay"),
    Action("release_credit_hold", "Release the order: the exposure stays within the customer's limit"),
    Action("cancel_duplicate", "Cancel the duplicate and tell the partner"),
    Action("confirm_with_partner", "Ask the partner whether both documents are meant"),
    Action("receive_short", "Receive what arrived and keep the rest open or cancel it"),
    Action("refuse_over_quantity", "Refuse or return the quantity beyond the order"),
    Action("accept_over_quantity", "Keep the extra quantity and amend the order"),
    Action("accept_substitute", "Accept the substituted item against the order line"),
    Action("create_item_master", "Create the item (or the partner's cross reference) in the item master"),
    Action("redirect_shipment", "Ask the carrier to deliver to the ordered ship-to"),
    Action("request_855_again", "Ask the supplier to resend or explain the acknowledgment"),
    Action("accept_acknowledgment_change", "Accept the changed confirmation and update the order"),
    Action("short_pay_invoice", "Pay what was received at the agreed price"),
    Action("request_credit_memo", "Ask the supplier for a credit memo"),
    Action("recalculate_invoice", "Ask the sender to correct the totals"),
    Action("reject_duplicate_invoice", "Reject the invoice as a duplicate"),
    Action("issue_invoice", "Invoice the shipment now"),
    Action("request_invoice", "Ask the supplier for the missing invoice"),
    Action("trace_transfer", "Trace the transfer with the receiving warehouse and the carrier"),
    Action("resend_document", "Resend the document to the partner"),
    Action("contact_partner", "Contact the partner about the missing document"),
    Action("switch_to_fallback_carrier", "Book the shipment with the partner's fallback carrier"),
    Action("retry_carrier_later", "Queue the carrier request until the API is back"),
    Action("create_customer", "Add the customer (or its partner id) to the customer master"),
    Action("create_ship_to", "Add the ship-to location to the customer master"),
    Action("add_unit_conversion", "Add the unit (and its conversion) to the item master"),
    Action("request_original", "Ask the partner for the original document the change refers to"),
    Action("apply_change_as_new", "Process the change on its own, as a new version"),
    Action("investigate_flow", "Check the partner's connection and volumes"),
    Action("request_purchase_order", "Find the order the document refers to, or ask the partner"),
)}


@dataclass(frozen=True, slots=True)
class ExceptionType:
    code: str
    category: Category
    title: str
    severity: Severity
    owner: Owner
    sla_hours: int
    action_names: tuple[str, ...]

    @property
    def actions(self) -> tuple[Action, ...]:
        return tuple(ACTIONS[n] for n in self.action_names)


_B, _T = Category.BUSINESS, Category.TECHNICAL
_L, _M, _H, _C = Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL
_O = Owner

TAXONOMY: tuple[ExceptionType, ...] = tuple(ExceptionType(*row) for row in (
    # code, category, title, severity, owner, SLA hours, recommended actions (first = preferred)
    ("inventory_shortage", _B, "Ordered quantity exceeds available stock", _H, _O.CUSTOMER_SERVICE, 4,
     ("split_ship_from_alternate_warehouse", "backorder_remaining", "offer_substitute")),
    ("negative_available_stock", _B, "Available stock below zero", _H, _O.WAREHOUSE, 24, ("recount_stock",)),
    ("price_discrepancy", _B, "Price differs from the contract or the order", _M, _O.CUSTOMER_SERVICE, 24,
     ("accept_price_difference", "reject_price", "update_price_list")),
    ("credit_hold", _B, "Customer on credit hold or over its credit limit", _H, _O.CREDIT, 8,
     ("hold_for_credit_review", "request_prepayment", "release_credit_hold")),
    ("duplicate_order", _B, "Order looks like a duplicate", _H, _O.CUSTOMER_SERVICE, 4,
     ("confirm_with_partner", "cancel_duplicate")),
    ("asn_short_shipment", _B, "Ship notice has less than ordered", _M, _O.PURCHASING, 24,
     ("receive_short", "request_855_again")),
    ("asn_over_shipment", _B, "Ship notice has more than ordered", _M, _O.PURCHASING, 24,
     ("refuse_over_quantity", "accept_over_quantity")),
    ("asn_substituted_item", _B, "Ship notice has a different item on an order line", _M, _O.PURCHASING, 24,
     ("accept_substitute", "refuse_over_quantity")),
    ("asn_unknown_item", _B, "Ship notice has an item that is not on the order", _M, _O.PURCHASING, 24,
     ("confirm_with_partner", "create_item_master")),
    ("asn_wrong_ship_to", _B, "Ship notice goes to another ship-to than ordered", _H, _O.WAREHOUSE, 4,
     ("redirect_shipment", "confirm_with_partner")),
    ("ack_changed_after_confirmation", _B, "Acknowledgment changed after it was accepted", _M, _O.PURCHASING, 24,
     ("accept_acknowledgment_change", "request_855_again")),
    ("invoice_quantity_mismatch", _B, "Invoiced quantity differs from shipped or ordered", _M,
     _O.ACCOUNTS_PAYABLE, 48, ("short_pay_invoice", "request_credit_memo")),
    ("invoice_price_mismatch", _B, "Invoiced price differs from the order", _M, _O.ACCOUNTS_PAYABLE, 48,
     ("accept_price_difference", "request_credit_memo", "short_pay_invoice")),
    ("invoice_totals_mismatch", _B, "Invoice totals do not add up", _M, _O.ACCOUNTS_PAYABLE, 48,
     ("recalculate_invoice",)),
    ("duplicate_invoice", _B, "Invoice looks like a duplicate", _H, _O.ACCOUNTS_PAYABLE, 24,
     ("reject_duplicate_invoice", "confirm_with_partner")),
    ("shipment_not_invoiced", _B, "Shipment not invoiced in time", _M, _O.ACCOUNTS_RECEIVABLE, 48,
     ("issue_invoice", "request_invoice")),
    ("transfer_not_received", _B, "Transfer shipped but not received", _M, _O.WAREHOUSE, 24, ("trace_transfer",)),
    ("unknown_purchase_order", _B, "Document refers to an order Crossdock does not know", _M, _O.PURCHASING, 24,
     ("request_purchase_order",)),
    ("missing_997", _T, "Functional acknowledgment (997) late", _M, _O.INTEGRATION, 4,
     ("resend_document", "contact_partner")),
    ("missing_855", _B, "Order acknowledgment (855) late", _M, _O.PURCHASING, 24,
     ("request_855_again", "contact_partner")),
    ("missing_856", _B, "Ship notice (856) late", _M, _O.PURCHASING, 24, ("contact_partner",)),
    ("missing_810", _B, "Invoice (810) late", _L, _O.ACCOUNTS_PAYABLE, 72, ("request_invoice", "contact_partner")),
    ("carrier_api_failure", _T, "Carrier API failing", _H, _O.INTEGRATION, 2,
     ("switch_to_fallback_carrier", "retry_carrier_later")),
    ("unknown_item", _B, "Item not in the item master", _M, _O.MASTER_DATA, 8, ("create_item_master",)),
    ("unknown_ship_to", _B, "Ship-to not in the customer master", _M, _O.MASTER_DATA, 8, ("create_ship_to",)),
    ("unknown_customer", _B, "Customer not in the customer master", _M, _O.MASTER_DATA, 8,
     ("create_customer",)),
    ("unknown_unit", _B, "Unit of measure unknown for the item", _M, _O.MASTER_DATA, 8, ("add_unit_conversion",)),
    ("revision_waiting_for_original", _T, "Change waited too long for its original", _M, _O.INTEGRATION, 4,
     ("request_original", "apply_change_as_new")),
    ("flow_anomaly", _T, "Partner flow outside its normal range", _M, _O.INTEGRATION, 8,
     ("investigate_flow", "contact_partner")),
    ("sla_risk", _B, "Predicted to miss its SLA", _M, _O.PURCHASING, 8,
     ("contact_partner", "request_855_again")),
))

_BY_CODE = {t.code: t for t in TAXONOMY}


def exception_type(code: str) -> ExceptionType:
    """The taxonomy row for ``code``; ``KeyError`` names the known codes.

    Usage:
        >>> exception_type("credit_hold").sla_hours
        8
    """
    try:
        return _BY_CODE[code]
    except KeyError:
        raise KeyError(f"unknown exception code {code!r} (known: {', '.join(sorted(_BY_CODE))})") from None
