"""A connector's configuration reference, rendered from its pydantic model.

The same model that validates a config and feeds the admin API writes its docs page:
one table per model (nested models such as an SFTP inbound folder get their own), with
each field's type, default, whether it is required or secret, and its description.

Usage:
    from connectors.config_docs import render_config_reference
    from connectors.transports.sftp import SftpConfig
    Path("docs/connectors/sftp.md").write_text(render_config_reference(SftpConfig))
"""

from __future__ import annotations

import enum
import types
import typing
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

__all__ = ["render_config_reference"]


def _members(annotation: Any) -> list[Any]:
    args = typing.get_args(annotation)
    return [m for a in args for m in _members(a)] if args else [annotation]


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin is not None:
        inner = ", ".join(_type_name(a) for a in args)
        return f"list of {inner}" if origin in (list, tuple, set, frozenset) else \
            f"{getattr(origin, '__name__', str(origin))}[{inner}]"
    if annotation is type(None):
        return "none"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " | ".join(f"`{m.value}`" for m in annotation)
    return getattr(annotation, "__name__", str(annotation))


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    if isinstance(value, enum.Enum):
        value = value.value
    if value in ((), [], None):
        return "—" if value is None else "empty"
    if isinstance(value, tuple):
        value = list(value)
    return f"`{value!r}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(model: type[BaseModel]) -> tuple[list[str], list[type[BaseModel]]]:
    lines = [f"### {model.__name__}", ""]
    if model.__doc__:
        lines += [model.__doc__.strip().splitlines()[0], ""]
    lines += ["| Field | Type | Default | Secret | Description |",
              "| --- | --- | --- | --- | --- |"]
    nested: list[type[BaseModel]] = []
    for name, info in model.model_fields.items():
        members = _members(info.annotation)
        secret = any(m is SecretStr for m in members)
        nested += [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)
                   and m not in nested]
        lines.append(
            f"| `{name}` | {_cell(_type_name(info.annotation))} | {_cell(_default(info))} | "
            f"{'yes' if secret else 'no'} | {_cell(info.description or '')} |")
    return lines, nested


def render_config_reference(model: type[BaseModel], *, title: str | None = None) -> str:
    """Markdown reference for ``model`` and every model nested in it."""
    out = [f"## {title or model.__name__}", ""]
    todo, done = [model], set()
    while todo:
        current = todo.pop(0)
        if current in done:
            continue
        done.add(current)
        lines, nested = _table(current)
        out += [*(lines[2:] if current is model else lines), ""]
        todo += nested
    return "\n".join(out).rstrip() + "\n"
