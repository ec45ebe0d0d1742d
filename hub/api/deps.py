"""Shared dependencies, defined once as ``Annotated`` aliases."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from hub.api.problems import Problem
from hub.auth import Principal, authenticate, hash_key, role_allows

if TYPE_CHECKING:
    from hub.app import Hub

__all__ = ["Admin", "DbSession", "HubDep", "Ingestor", "Operator", "ReadSession", "Viewer", "authorize",
           "require"]


def get_hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


HubDep = Annotated["Hub", Depends(get_hub)]


def get_session(request: Request) -> Iterator[Session]:
    with get_hub(request).db.session() as s:
        yield s


def get_reader(request: Request) -> Iterator[Session]:
    with get_hub(request).db.reader() as s:
        yield s


# "function" scope: the transaction commits before the response is sent, never after it
DbSession = Annotated[Session, Depends(get_session, scope="function")]
ReadSession = Annotated[Session, Depends(get_reader, scope="function")]

_CACHE_SECONDS = 5.0


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Problem(401, "Unauthorized", "send an API key as 'Authorization: Bearer <key>' "
                      "(create one with: crossdock apikey create --name NAME --role ROLE)",
                      headers={"WWW-Authenticate": 'Bearer realm="crossdock"'})
    return key.strip()


def _look_up(request: Request, key: str, digest: str) -> Principal:
    hub = get_hub(request)
    with hub.db.reader() as s:
        principal = authenticate(s, key)
    if principal is None:
        raise Problem(401, "Unauthorized", "the API key is unknown or revoked",
                      headers={"WWW-Authenticate": 'Bearer realm="crossdock", error="invalid_token"'})
    hub.key_cache[digest] = (principal, time.monotonic() + _CACHE_SECONDS)
    return principal


async def authorize(request: Request, role: str) -> Principal:
    """The caller's principal if its API key holds ``role``; a 401 / 403 problem otherwise.

    A key seen in the last few seconds is answered on the event loop, without a trip through
    the thread pool; only a lookup in the database goes to a thread.
    """
    key = _bearer(request)
    digest = hash_key(key)
    hit = get_hub(request).key_cache.get(digest)
    principal = hit[0] if hit is not None and hit[1] > time.monotonic() else \
        await run_in_threadpool(_look_up, request, key, digest)
    if not role_allows(principal.role, role):
        raise Problem(403, "Forbidden", f"this needs the {role} role; key {principal.name!r} has {principal.role}")
    request.state.principal = principal
    return principal


def require(role: str) -> Callable[[Request], Awaitable[Principal]]:
    async def dependency(request: Request) -> Principal:
        return await authorize(request, role)

    return dependency


Viewer = Annotated[Principal, Depends(require("viewer"))]
Operator = Annotated[Principal, Depends(require("operator"))]
Admin = Annotated[Principal, Depends(require("admin"))]
Ingestor = Annotated[Principal, Depends(require("ingest"))]
