"""Mount the AS2 receiver in a Starlette or FastAPI app in one line.

Usage:
    app.add_api_route("/as2", as2_endpoint(inbox=inbox, profiles=partners),
                      methods=["POST"])          # FastAPI
    Route("/as2", as2_endpoint(inbox=inbox, profiles=partners), methods=["POST"])
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from canonical.errors import CrossdockError, PermanentError
from connectors.base import Inbox
from connectors.transports.as2.async_mdn import AsyncMdn
from connectors.transports.as2.config import PartnerProfiles
from connectors.transports.as2.mdn import is_mdn
from connectors.transports.as2.receiver import AS2Response, MessageIdLedger, receive

__all__ = ["MdnHandler", "as2_endpoint"]

log = logging.getLogger(__name__)

MdnHandler = Callable[[Mapping[str, str], bytes], None]
"""Called with an inbound async MDN's headers and body (e.g. ``match_async_mdn``)."""


def _deliver(pending: AsyncMdn) -> None:
    try:
        status = pending.deliver()
        log.info("async MDN for %s delivered to %s (HTTP %s)",
                 pending.original_message_id, pending.url, status)
    except CrossdockError as exc:
        log.error("async MDN for %s to %s not delivered: %s",
                  pending.original_message_id, pending.url, exc)


def as2_endpoint(*, inbox: Inbox, profiles: PartnerProfiles,
                 on_mdn: MdnHandler | None = None,
                 on_receive: Callable[[AS2Response], None] | None = None,
                 ledger: MessageIdLedger | None = None,
                 max_bytes: int = 64 * 1024 * 1024
                 ) -> Callable[[Request], Awaitable[Response]]:
    """A ``POST`` endpoint: messages go through :func:`receive`, MDNs to ``on_mdn``.

    ``on_receive`` sees every :class:`AS2Response` (stored receipt, duplicate, refusal)
    before it is answered, for logging and metrics.

    The inbox is called in a worker thread; if it raises, there is no MDN: a
    ``PermanentError`` is answered 400 (413 for a size limit), anything else 503. An
    async MDN is POSTed after the HTTP answer has gone, in a background task.

    Usage:
        Route("/as2", as2_endpoint(inbox=inbox, profiles=partners), methods=["POST"])
    """

    async def endpoint(request: Request) -> Response:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            return Response(f"AS2 message over {max_bytes} bytes\r\n", status_code=413)
        body = await request.body()
        if len(body) > max_bytes:
            return Response(f"AS2 message over {max_bytes} bytes\r\n", status_code=413)
        headers = dict(request.headers)
        if on_mdn is not None and is_mdn(headers, body):
            try:
                await run_in_threadpool(on_mdn, headers, body)
            except CrossdockError as exc:
                log.warning("async MDN not accepted: %s", exc)
                return Response(f"{exc}\r\n", status_code=400)
            return Response(b"", status_code=200)
        try:
            result = await run_in_threadpool(receive, headers, body, inbox=inbox,
                                             profiles=profiles, ledger=ledger)
        except PermanentError as exc:
            # Not stored and never will be as sent (e.g. over the inbox's size limit).
            log.warning("AS2 message %s refused by the inbox: %s",
                        headers.get("message-id"), exc)
            status = 413 if exc.code.endswith("too_large") else 400
            return Response(f"{exc}\r\n", status_code=status)
        except Exception:
            # Not stored, so no MDN: a 503 tells the partner's AS2 software to resend.
            log.exception("AS2 message %s not stored", headers.get("message-id"))
            return Response("Crossdock could not store the message; send it again later\r\n",
                            status_code=503, headers={"Retry-After": "60"})
        if result.error is not None:
            log.warning("AS2 message refused: %s", result.error)
        if on_receive is not None:
            on_receive(result)
        task = BackgroundTask(_deliver, result.async_mdn) if result.async_mdn else None
        return Response(result.body, status_code=result.status_code,
                        headers=result.headers, background=task)

    return endpoint
