"""One ERP gateway per connection in this process, and the checks a connection passes.

A gateway remembers writes in doubt (a create that timed out), so every caller in the
process shares it: the outbox relay, the document feeds and reconciliation. ``"${NAME}"``
values in a connection come from the environment, so secrets stay out of profiles and jobs.

Usage:
    gateway = gateway_for({"base_url": "https://s4.example.com", "auth": "basic",
                           "username": "CROSSDOCK", "password": "${SAP_PASSWORD}"})
"""

from __future__ import annotations

import json
import os
import re
import threading
from typing import Any

from pydantic import ValidationError

from canonical.errors import ConfigurationError
from connectors.erp import SapS4Config, SapS4Gateway

__all__ = ["gateway_for", "valid_connection"]

_gateways: dict[str, SapS4Gateway] = {}
_lock = threading.Lock()
_ENV = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


def _resolve(connection: dict[str, Any]) -> dict[str, Any]:
    out = dict(connection)
    for key, value in connection.items():
        found = _ENV.match(value) if isinstance(value, str) else None
        if found:
            if found.group(1) not in os.environ:
                raise ConfigurationError(f"ERP connection: {key} refers to ${{{found.group(1)}}}, which is not set",
                                         code="config.destination")
            out[key] = os.environ[found.group(1)]
    return out


def valid_connection(cls: type, value: dict[str, Any]) -> dict[str, Any]:
    """A pydantic field validator: the connection must be a valid S/4HANA configuration."""
    try:
        SapS4Config.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"connection{'.' + where if where else ''}: {first['msg']}") from None
    return value


def gateway_for(connection: dict[str, Any]) -> SapS4Gateway:
    """The one gateway of this process for a connection (it remembers writes in doubt)."""
    key = json.dumps(connection, sort_keys=True, default=str)
    with _lock:
        gateway = _gateways.get(key)
        if gateway is None:
            gateway = _gateways[key] = SapS4Gateway(SapS4Config.model_validate(_resolve(connection)))
        return gateway
