"""Validate a mapped document with fewer Python calls, when a cheap look shows they would pass.

``PurchaseOrder.model_validate`` of a 20-line order spends about half its time in checks
that call Python for every line: the GTIN check digit (a field validator), "a line names an
item" (a model validator), and pydantic-core's ``max_digits``/``decimal_places`` check of
every ``Amount``, which calls ``Decimal.normalize`` and twice ``Decimal.as_tuple`` (a named
tuple built through Python) per value. :func:`prechecked_validator` builds, once per model,

- a second pydantic-core validator of the same core schema without exactly those checks
  (everything else — types, coercion, lengths, patterns, ``gt``/``ge``, finiteness, defaults,
  unknown fields, the other validators, the instance it returns — is the model's own), and
- a generated function that looks at the input first: when every value those checks would
  see is of a plain kind for which they provably pass (a ``Decimal`` with at most 12 whole
  digits and 6 decimals, a GTIN of decimal digits with a right check digit, a line naming an item by
  a non-blank string, distinct line numbers, ...) it validates with the second validator;
  anything else — another type, a long or odd value, a tuple instead of a list, a model
  instance instead of a dict — goes to ``model_validate`` as before.

The look only says "certainly passes" or "don't know": it never decides a failure, so a
document validates to the same instance or fails with the same errors (types, messages,
locations, inputs, order) either way. ``tests/canonical/test_prechecked.py`` compares both
over every document type and many mutated inputs.

Usage:
    >>> from canonical.documents import PurchaseOrder
    >>> validate = prechecked_validator(PurchaseOrder)
    >>> validate({"po_number": "PO-1", "order_date": "2026-11-23", "buyer": {"id": "ACME"},
    ...           "lines": [{"line_number": "1", "vendor_item": "W-1", "quantity": 5}]}).po_number
    'PO-1'
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic_core import CoreConfig, SchemaValidator

from canonical.common import ItemIdentifiers
from canonical.documents import (
    CanonicalDocument,
    Invoice,
    OrderAcknowledgment,
    OrderLine,
    PurchaseOrder,
)

__all__ = ["prechecked_validator"]

M = TypeVar("M", bound=BaseModel)

# Python validators the look can stand in for, by the function pydantic calls.
_GTIN = ItemIdentifiers._gtin_check_digit.__func__  # type: ignore[attr-defined]
_NAMES_AN_ITEM = OrderLine._names_an_item
_DROP_KEY = CanonicalDocument._drop_computed_key.__func__
# A document's "after" validator: whether it also needs at least one line (else only
# distinct line numbers).
_DOC_LINES = {PurchaseOrder._lines: True, OrderAcknowledgment._lines: False, Invoice._lines: False}

_CACHE: dict[type[BaseModel], Callable[[Any], Any]] = {}


def prechecked_validator(model: type[M]) -> Callable[[Any], M]:
    """``model.model_validate`` for one argument, through the cheaper validator where the
    input allows it (see the module's docstring). Built once per model."""
    found = _CACHE.get(model)
    if found is None:
        found = _CACHE[model] = _build(model)
    return found


def _function(schema: dict[str, Any]) -> Any:
    fn = schema.get("function", {}).get("function")
    return getattr(fn, "__func__", fn)


class _Gen:
    """Generates the look over the input while stripping from a copy of the core schema
    the checks it stands in for."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.n = 0
        self.fields: dict[tuple[str, str], str] = {}
        self.checked: set[str] = set()  # variables the GTIN look went through

    def var(self) -> str:
        self.n += 1
        return f"v{self.n}"

    def emit(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)

    def node(self, schema: dict[str, Any], var: str, depth: int, numbers: bool | None = None) -> bool:
        """Emit the look at ``var`` for ``schema`` (stripping what it stands in for);
        False when nothing below needs looking at (nothing emitted)."""
        start = len(self.lines)
        kind = schema.get("type")
        if kind == "decimal":
            self._decimal(schema, var, depth)
        elif kind == "nullable":
            self.emit(depth, f"if {var} is not None:")
            if not self.node(schema["schema"], var, depth + 1):
                del self.lines[start:]
        elif kind == "default":
            self.node(schema["schema"], var, depth)
        elif kind == "list":
            item = self.var()
            self.emit(depth, f"if type({var}) is not list: return FULL(data)")
            if numbers is not None:
                # The document validator's line checks, in the same pass: at least one line
                # where it needs one, line numbers (strings) distinct however stripped —
                # distinct after Python's strip means distinct after pydantic's, which
                # strips less.
                seen = self.var()
                if numbers:
                    self.emit(depth, f"if not {var}: return FULL(data)")
                self.emit(depth, f"{seen} = set()")
            self.emit(depth, f"for {item} in {var}:")
            found = self.node(schema["items_schema"], item, depth + 1)
            if numbers is not None:
                number = self.var()
                if not found:
                    self.emit(depth + 1, f"if type({item}) is not dict: return FULL(data)")
                self.emit(depth + 1, f"{number} = {item}.get('line_number')")
                self.emit(depth + 1, f"if type({number}) is not str: return FULL(data)")
                self.emit(depth + 1, f"{seen}.add({number}.strip())")
                self.emit(depth, f"if len({seen}) != len({var}): return FULL(data)")
            elif not found:
                del self.lines[start:]
        elif kind == "model":
            self.emit(depth, f"if type({var}) is not dict: return FULL(data)")
            if not self.node(schema["schema"], var, depth, numbers):
                del self.lines[start:]
        elif kind == "model-fields":
            self._fields(schema, var, depth, numbers)
        elif kind == "function-before" and _function(schema) is _DROP_KEY:
            # Returns the input as it is unless it holds the computed key.
            self.emit(depth, f"if 'idempotency_key' in {var}: return FULL(data)")
            self.node(schema["schema"], var, depth, numbers)
            self._unwrap(schema)
        elif kind == "function-after" and _function(schema) is _GTIN:
            self._gtin(schema, var, depth)
        elif kind == "function-after" and _function(schema) is _NAMES_AN_ITEM:
            self.node(schema["schema"], var, depth)
            self._names(var, depth)
            self._unwrap(schema)
        elif kind == "function-after" and _function(schema) in _DOC_LINES:
            if self._has_lines(schema["schema"]):
                self.node(schema["schema"], var, depth, _DOC_LINES[_function(schema)])
                self._unwrap(schema)
            else:
                self.node(schema["schema"], var, depth)
        elif kind == "function-after":
            # Another after validator sees the validated value: what is below may still be
            # looked at (and stripped), the validator itself stays.
            self.node(schema["schema"], var, depth)
        # Anything else (strings, dates, enums, definition references, wrap and plain
        # validators, unions...) keeps all of its checks and is not looked at.
        return len(self.lines) > start

    @staticmethod
    def _unwrap(schema: dict[str, Any]) -> None:
        """Replace a validator function's schema by the schema it wraps."""
        inner = schema["schema"]
        extra = set(schema) - {"type", "function", "schema", "ref", "metadata"}
        if extra:
            raise ValueError(f"a validator schema with {sorted(extra)}")
        keep = {k: schema[k] for k in ("ref", "metadata") if k in schema}
        schema.clear()
        schema.update(inner)
        if "ref" in keep:
            if "ref" in inner:
                raise ValueError("two references")
            schema["ref"] = keep["ref"]

    def _fields(self, schema: dict[str, Any], var: str, depth: int, numbers: bool | None = None) -> None:
        for name, field in schema["fields"].items():
            if field.get("validation_alias") is not None or field.get("type") != "model-field":
                continue
            value = self.var()
            start = len(self.lines)
            inner = field["schema"]
            lines = numbers if name == "lines" else None
            if inner.get("type") == "default" and (lines is not None or not _passes_none(inner["schema"])):
                # A missing key takes the default, which is not validated.
                self.emit(depth, f"{value} = {var}.get({name!r}, MISSING)")
                self.emit(depth, f"if {value} is not MISSING:")
                found = self.node(inner["schema"], value, depth + 1, lines)
                self.checked.discard(value)  # it may hold MISSING, not a checked GTIN
                if lines is not None:
                    self.emit(depth, "else: return FULL(data)")
            else:
                # .get gives None for a missing key: None where None is valid, which the
                # look passes; elsewhere it refuses it.
                self.emit(depth, f"{value} = {var}.get({name!r})")
                found = self.node(inner, value, depth, lines)
            if found:
                self.fields[var, name] = value
            else:
                del self.lines[start:]

    @staticmethod
    def _has_lines(schema: dict[str, Any]) -> bool:
        """Whether ``schema`` (a document model) has a ``lines`` list the look can go through."""
        while schema.get("type") in ("model", "function-before"):
            schema = schema["schema"]
        field = schema.get("fields", {}).get("lines") if schema.get("type") == "model-fields" else None
        if field is None or field.get("validation_alias") is not None:
            return False
        inner = field["schema"]
        if inner.get("type") == "default":
            inner = inner["schema"]
        return bool(inner.get("type") == "list")

    def _decimal(self, schema: dict[str, Any], var: str, depth: int) -> None:
        digits, places = schema.get("max_digits"), schema.get("decimal_places")
        if digits is None or places is None or not 0 <= places <= 6 or digits <= places:
            return  # only the Amount kind of constraint is looked at
        whole = digits - places
        # A finite Decimal whose adjusted exponent a (its leading digit's power of ten) is
        # in -places..whole-1 prints in plain notation unless its exponent is positive
        # (then it has no decimals); plain, its text is at most max(a, 0) + places + 2
        # characters only when it has at most `places` decimals. Then its digits, decimals
        # and whole digits are all within bounds as it stands, which is all pydantic-core
        # asks (it refuses a value only when both it and its normalized form are out).
        # NaN and infinities (adjusted() is 0) pass here and still meet the finiteness
        # check, which stays.
        a = self.var()
        self.emit(depth, f"if type({var}) is not DECIMAL: return FULL(data)")
        self.emit(depth, f"{a} = {var}.adjusted()")
        self.emit(depth, f"if not {-places - 1} < {a} < {whole} or len(str({var})) > "
                         f"({a} if {a} > 0 else 0) + {places + 2}: return FULL(data)")
        del schema["max_digits"], schema["decimal_places"]

    def _gtin(self, schema: dict[str, Any], var: str, depth: int) -> None:
        inner = schema["schema"]
        if inner != {"type": "nullable", "schema": {"type": "str"}}:
            return
        # gtin_is_valid on decimal digits (which no strip changes): from the right, the
        # digits weigh 1, 3, 1, 3...; with E and O the sums of the digits at odd and even
        # places from the right, a number read in base 11 is E + O modulo 10 (11 = 1 mod 10),
        # in base 19 E - O (19 = -1 mod 10), and E + 3*O = 2*(E + O) - (E - O). Two int()
        # calls instead of slicing and summing in Python. One isdecimal() stands for
        # isascii() and isdigit(): a string of decimal digits that are not all ASCII (say
        # Arabic-Indic) passes isdigit(), int() reads each as its value, and so does
        # gtin_is_valid's way for non-ASCII strings (int() of each character): the same
        # sum, the same answer. (isdigit() alone would let through digits int() refuses,
        # such as superscripts.)
        self.emit(depth, f"if {var} is not None and (type({var}) is not str "
                         f"or not {var}.isdecimal() or len({var}) not in GTIN_LENGTHS "
                         f"or (2 * int({var}, 11) - int({var}, 19)) % 10): return FULL(data)")
        self.checked.add(var)
        self._unwrap(schema)

    def _names(self, var: str, depth: int) -> None:
        # A str that Python's strip leaves non-empty is non-empty after pydantic's strip
        # (which removes a subset of what Python's does). Asked in order, each only when
        # the one before did not name the item.
        terms = []
        for key in ("gtin", "vendor_item", "buyer_item"):
            name = self.fields.get((var, key))
            if name is not None and name in self.checked:
                # The look above let through only None or a string of digits.
                terms.append(f"{name} is not None")
            elif name is None:
                name = self.var()
                terms.append(f"(type({name} := {var}.get({key!r})) is str and {name}.strip())")
            else:
                terms.append(f"(type({name}) is str and {name}.strip())")
        self.emit(depth, f"if not ({' or '.join(terms)}): return FULL(data)")


def _passes_none(schema: dict[str, Any]) -> bool:
    """Whether the look at ``schema`` passes None (so a missing key, read as None, is fine)."""
    if schema.get("type") == "nullable":
        return True
    return schema.get("type") == "function-after" and _function(schema) is _GTIN and _passes_none(schema["schema"])


def _build(model: type[M]) -> Callable[[Any], M]:
    full = model.model_validate
    own = model.__pydantic_validator__
    if type(own) is not SchemaValidator:  # a plugin wraps it: leave it alone
        return full
    try:
        schema: dict[str, Any] = copy.deepcopy(dict(model.__pydantic_core_schema__))
        gen = _Gen()
        top = schema["schema"] if schema.get("type") == "definitions" else schema
        if not gen.node(top, "data", 1):
            return full
        fast = SchemaValidator(schema, _core_config(model, own.title))
    except Exception:
        # A schema of a shape the look does not know (another pydantic): no shortcut.
        return full
    source = "\n".join(["def validate(data):", *gen.lines, "    return FAST(data)"])
    ns: dict[str, Any] = {"FULL": full, "FAST": fast.validate_python, "DECIMAL": Decimal,
                          "GTIN_LENGTHS": (8, 12, 13, 14), "MISSING": object()}
    exec(compile(source, f"<prechecked {model.__name__}>", "exec"), ns)
    validate: Callable[[Any], M] = ns["validate"]
    validate.source = source  # type: ignore[attr-defined]
    return validate


def _core_config(model: type[BaseModel], title: str) -> CoreConfig:
    # The configuration pydantic builds the model's own validator with.
    from pydantic._internal._config import ConfigWrapper

    return ConfigWrapper(model.model_config).core_config(title=title)
