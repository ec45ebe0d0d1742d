"""Server-driven paging of OData V2 reads: follow ``__next`` until the last page.

An S/4HANA gateway may answer a collection read with one page and a ``__next`` link
(``$skiptoken``) to the rest; a delta read's ``__delta`` link comes on the last page.
The cursor refuses to leave the system it was configured for (credentials go with every
request) and to go round in circles: a link it has followed before, or more pages than
``max_pages``, is a fault of the server, raised as ``PermanentError`` (``erp.paging``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from canonical.errors import PermanentError
from connectors.erp.sap_http import SapSession

__all__ = ["NextLinks", "pages"]


class NextLinks:
    """The ``__next`` links of one read: where the next page is, and whether we were there.

    Usage:
        cursor = NextLinks("https://s4/sap/opu/odata/sap/API_PRODUCT_SRV/A_Product", max_pages=100)
        url = cursor.advance("A_Product?$skiptoken=100")
    """

    def __init__(self, first_url: str, *, max_pages: int) -> None:
        self.current = httpx.URL(first_url)
        self.max_pages = max_pages
        self.count = 1
        self._seen = {str(self.current)}

    def advance(self, link: str) -> str:
        """The absolute URL of the next page; raises on a loop or a link to another host."""
        url = self.current.join(link)
        here = self.current
        if (url.scheme, url.host, url.port) != (here.scheme, here.host, here.port):
            raise PermanentError(f"the ERP's __next link {link!r} leaves {here.host}",
                                 code="erp.paging", details={"link": link})
        if str(url) in self._seen or self.count >= self.max_pages:
            raise PermanentError(
                f"paging loop: the ERP handed out {link!r} after {self.count} pages",
                code="erp.paging", details={"link": link, "pages": self.count})
        self._seen.add(str(url))
        self.current = url
        self.count += 1
        return str(url)


def pages(session: SapSession, service: str, resource: str, params: Mapping[str, str],
          *, headers: Mapping[str, str] | None = None) -> Iterator[dict[str, Any]]:
    """Every page (the ``d`` object) of a collection read, following ``__next`` links."""
    payload = session.get_json(service, resource, params, headers=headers)
    cursor = NextLinks(str(httpx.URL(session.config.base_url).join(session.service_path(service, resource))),
                       max_pages=session.config.max_pages)
    while True:
        if not isinstance(payload, dict):
            return
        yield payload
        link = payload.get("__next")
        if not link:
            return
        payload = session.get_link(cursor.advance(str(link)), headers=headers)
