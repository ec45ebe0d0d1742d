"""Parts shared by every canonical document: parties, addresses, items, quantities, money.

Money and quantities are ``Decimal``: a float never enters a canonical model (floats given
as input are converted through their shortest ``repr``, so ``0.1`` stays ``0.1``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

__all__ = [
    "Address",
    "Amount",
    "CanonicalModel",
    "Currency",
    "ItemIdentifiers",
    "Money",
    "Party",
    "Quantity",
    "Reference",
    "UnitOfMeasure",
    "gtin_is_valid",
]

Currency = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    Field(description="ISO 4217 currency code, e.g. USD, EUR", examples=["USD"]),
]
UnitOfMeasure = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_upper=True, min_length=1, max_length=3),
    Field(description="Unit of measure code as the partner sends it (X12 355 or UN/ECE Rec 20), e.g. EA, CA, PCE"),
]
Amount = Annotated[Decimal, Field(allow_inf_nan=False, max_digits=18, decimal_places=6)]


class CanonicalModel(BaseModel):
    """Strict by default: an unknown field is an error that names the field."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=False)


class Address(CanonicalModel):
    lines: list[str] = Field(default_factory=list, description="Street lines, first to last")
    city: str | None = None
    region: str | None = Field(None, description="State or province code")
    postal_code: str | None = None
    country: str | None = Field(None, pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")


class Party(CanonicalModel):
    """A buyer, seller, ship-to, bill-to, carrier: an identifier with its qualifier."""

    id: str = Field(min_length=1, max_length=80, description="The party's identifier")
    qualifier: str | None = Field(
        None,
        description="What kind of identifier `id` is: DUNS, GLN, buyer-assigned (X12 66/92), ...",
    )
    name: str | None = None
    address: Address | None = None


class Reference(CanonicalModel):
    qualifier: str = Field(min_length=1, description="e.g. X12 REF01 / EDIFACT RFF 1153")
    value: str = Field(min_length=1)


def gtin_is_valid(gtin: str) -> bool:
    """GS1 check digit for GTIN-8/12/13/14."""
    if not gtin.isdigit() or len(gtin) not in (8, 12, 13, 14):
        return False
    if gtin.isascii():
        # The same rule on the bytes (every order line's GTIN passes here): from the right,
        # the check digit weighs 1, then 3, 1, 3, ...; the weighted sum ends in 0. Each
        # byte is its digit plus 48, taken off once per unit of weight.
        raw = gtin.encode()
        threes, ones = raw[-2::-2], raw[-3::-2]
        total = 3 * sum(threes) + sum(ones) + raw[-1] - 48 * (3 * len(threes) + len(ones) + 1)
        return total % 10 == 0
    digits = [int(c) for c in gtin]
    body, check = digits[:-1], digits[-1]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


class ItemIdentifiers(CanonicalModel):
    """How both sides name an item. At least one is required where a line names an item."""

    buyer_item: str | None = Field(None, description="The buyer's item number (X12 BP/IN, EDIFACT PIA IN)")
    vendor_item: str | None = Field(None, description="The seller's item number (X12 VP/VN, EDIFACT PIA SA)")
    gtin: str | None = Field(None, description="GS1 GTIN-8/12/13/14 with a valid check digit")

    @field_validator("gtin")
    @classmethod
    def _gtin_check_digit(cls, v: str | None) -> str | None:
        if v is not None and not gtin_is_valid(v):
            raise ValueError(f"GTIN {v!r} has a wrong length or check digit")
        return v

    def item_key(self) -> str | None:
        """The most specific identifier available, for matching lines across documents."""
        return self.gtin or self.vendor_item or self.buyer_item


class Quantity(CanonicalModel):
    value: Amount
    uom: UnitOfMeasure


class Money(CanonicalModel):
    amount: Amount
    currency: Currency
