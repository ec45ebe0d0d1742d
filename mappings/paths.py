"""Reading and writing nested dicts by compiled path (``("buyer", "address", "lines", 0)``)."""

from __future__ import annotations

from typing import Any

from mappings.compiled import Path

__all__ = ["get_path", "path_text", "set_path"]


def get_path(obj: Any, path: Path) -> Any:
    for key in path:
        if obj is None:
            return None
        if isinstance(key, int):
            obj = obj[key] if isinstance(obj, list) and key < len(obj) else None
        else:
            obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def set_path(obj: dict[str, Any], path: Path, value: Any) -> None:
    """Set ``value`` at ``path``, creating dicts and lists on the way."""
    current: Any = obj
    last = len(path) - 1
    for i, key in enumerate(path):
        if i == last:
            if isinstance(key, int):
                while len(current) <= key:
                    current.append(None)
            current[key] = value
            return
        nxt: Any = [] if isinstance(path[i + 1], int) else {}
        if isinstance(key, int):
            while len(current) <= key:
                current.append([] if isinstance(path[i + 1], int) else {})
            current = current[key]
        else:
            existing = current.get(key)
            if existing is None:
                current[key] = existing = nxt
            current = existing


def path_text(prefix: str, path: Path) -> str:
    """``("lines", 3, "quantity")`` → ``lines[3].quantity`` after ``prefix``."""
    out = prefix
    for key in path:
        if isinstance(key, int):
            out += f"[{key}]"
        else:
            out = f"{out}.{key}" if out else key
    return out
