"""Server-driven paging: reads follow ``__next`` to the last page and keep its ``__delta``.

mock-sap never pages (it refuses ``$skiptoken``), so ``ServerPaging`` stands where an
S/4HANA gateway's paging would: it turns each collection read into a page of ``$top`` rows
and hands out a ``__next`` link with a ``$skiptoken``, moving the ``__delta`` link to the
last page, as SAP Gateway does.
"""

from __future__ import annotations

import json

import httpx
import pytest

from canonical.errors import PermanentError
from connectors.erp import SapS4Config, SapS4Gateway

pytestmark = pytest.mark.mock_sap


class ServerPaging(httpx.BaseTransport):
    """Pages mock-sap's collection answers ``size`` rows at a time, like SAP Gateway."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.inner = httpx.HTTPTransport()
        self.pages: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        last = request.url.path.rsplit("/", 1)[-1]
        if request.method != "GET" or not last.startswith("A_") or "(" in last:
            return self.inner.handle_request(request)
        params = request.url.params
        skip = int(params.get("$skiptoken", "0"))
        asked = request.url.copy_remove_param("$skiptoken")
        request = httpx.Request("GET", asked.copy_merge_params({"$skip": str(skip), "$top": str(self.size)}),
                                headers=request.headers)
        response = self.inner.handle_request(request)
        response.read()
        body = json.loads(response.content)
        page = body["d"]
        self.pages.append(params.get("$skiptoken", "-"))
        if len(page["results"]) == self.size:
            page["__next"] = str(asked.copy_merge_params({"$skiptoken": str(skip + self.size)}))
            page.pop("__delta", None)
        headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-encoding")}
        return httpx.Response(response.status_code, headers=headers, json=body)


def test_paged_reads_follow_next_to_the_last_page_and_keep_its_delta_token(mock_sap, gateway):
    unpaged = {p.product for p in gateway.read_products().records}
    paging = ServerPaging(size=3)
    paged = SapS4Gateway(SapS4Config(base_url=mock_sap.base_url, auth="none"), transport=paging)
    try:
        first = paged.read_products()
        assert sorted(p.product for p in first.records) == sorted(unpaged) and len(unpaged) > 6
        assert paging.pages == [str(n) if n else "-" for n in range(0, len(unpaged) + 1, 3)]

        changed = sorted(unpaged)[:4]  # more than one page of changes
        for product in changed:
            mock_sap.control.patch("A_Product", product, {"ProductGroup": "L004"})
        paging.pages.clear()
        delta = paged.read_products(since=first.delta_token)
        assert sorted(p.product for p in delta.records) == changed
        assert paging.pages == ["-", "3"]
        assert paged.read_products(since=delta.delta_token).records == []

        [po] = paged.read_purchase_orders(numbers=["4500000101"])  # plain reads page too
        assert po.supplier == "1000015"
    finally:
        paged.close()


def _looping(link: str) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"d": {"results": [{"Product": "TG11"}], "__next": link}})
    return httpx.MockTransport(answer)


@pytest.mark.parametrize("link", [
    "http://erp.test/sap/opu/odata/sap/API_PRODUCT_SRV/A_Product?$skiptoken=5",  # the same page again
    "http://elsewhere.test/sap/opu/odata/sap/API_PRODUCT_SRV/A_Product?$skiptoken=5",  # another host
])
def test_a_next_link_that_loops_or_leaves_the_system_is_refused(link: str) -> None:
    gateway = SapS4Gateway(SapS4Config(base_url="http://erp.test", auth="none"), transport=_looping(link))
    with pytest.raises(PermanentError) as caught:
        gateway.read_products()
    assert caught.value.code == "erp.paging"
