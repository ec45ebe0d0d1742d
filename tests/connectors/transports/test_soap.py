"""SOAP (zeep) against the real mock-sap, and a local SOAP server for faults and hostile XML."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from canonical.errors import BusinessException, PermanentError, RetryableError
from connectors.transports.soap import WSDL_DIR, SoapClient, SoapConfig, check_bapi_return
from connectors.xml import XmlRejected
from tests.support.mock_sap import MockSap, mock_sap_factory  # noqa: F401  (registers the fixture)

WSDL = "sap_material_get_detail.wsdl"
SRT_PATH = "/sap/bc/srt/rfc/sap/zmaterial_get_detail/100/zmaterial_get_detail/zmaterial_get_detail"
S11 = "http://schemas.xmlsoap.org/soap/envelope/"
S12 = "http://www.w3.org/2003/05/soap-envelope"


@pytest.fixture
def start_sap(request: pytest.FixtureRequest) -> Callable[..., MockSap]:
    """Start a real mock-sap (killed after the test); keyword arguments are its flags."""
    factory: Callable[..., MockSap] = request.getfixturevalue("mock_sap_factory")
    return factory


@pytest.fixture
def sap(start_sap: Callable[..., MockSap]) -> MockSap:
    return start_sap()


def _client(base_url: str, **config: Any) -> SoapClient:
    settings: dict[str, Any] = {"wsdl": WSDL, "endpoint": base_url + SRT_PATH, "sap_csrf": True,
                                "timeout_seconds": 5.0, **config}
    return SoapClient(SoapConfig(**settings), partner_id="SAP")


# ------------------------------------------------------------------------------ mock-sap


@pytest.mark.mock_sap
def test_material_detail_from_mock_sap_with_ws_security(sap: MockSap) -> None:
    client = _client(sap.base_url, username="CROSSDOCK", password="Welcome1")
    result = client.call("MaterialGetDetail", Material="TG11", Plant="1710")
    data = result["MATERIAL_GENERAL_DATA"]
    assert (data["MATERIAL"], data["MATL_DESC"], data["BASE_UOM"]) == ("TG11", "Notebook Professional 15", "PC")
    assert data["NET_WEIGHT"] == Decimal("3.900") and data["PLANT"] == "1710"
    check_bapi_return(result, partner="SAP")  # TYPE S: no exception
    (sent,) = [r for r in sap.control.requests(verbose=True) if r["path"] == SRT_PATH and r["method"] == "POST"]
    assert "UsernameToken" in sent["body"] and "<Material>TG11</Material>" in sent["body"]


@pytest.mark.mock_sap
def test_unknown_material_is_a_business_exception(sap: MockSap) -> None:
    result = _client(sap.base_url).call("MaterialGetDetail", Material="NOPE")
    with pytest.raises(BusinessException) as caught:
        check_bapi_return(result, partner="SAP", document="NOPE")
    assert caught.value.code == "sap.bapi_error"
    assert caught.value.details["messages"][0]["MESSAGE"] == "Material NOPE does not exist"


@pytest.mark.mock_sap
def test_a_bapi_refusal_table_is_a_business_exception(sap: MockSap) -> None:
    httpx.post(f"{sap.base_url}/_mock/bapi-behaviour", json={
        "function": "BAPI_MATERIAL_GET_DETAIL", "type": "E", "id": "M3", "number": "351",
        "message": "Material TG11 is blocked for sales", "count": 1}).raise_for_status()
    result = _client(sap.base_url).call("MaterialGetDetail", Material="TG11")
    with pytest.raises(BusinessException, match="blocked for sales"):
        check_bapi_return(result, partner="SAP")


@pytest.mark.mock_sap
@pytest.mark.parametrize(("rule", "error", "code"), [
    ({"scenario": "busy"}, RetryableError, "soap.unavailable"),
    ({"status": 500, "message": "Backend unreachable"}, RetryableError, "soap.unavailable"),
    ({"scenario": "forbidden"}, PermanentError, "soap.unauthorized"),
    ({"status": 404}, PermanentError, "soap.http_error"),
], ids=["busy-503", "500", "403", "404"])
def test_gateway_failures_are_classified(sap: MockSap, rule: dict[str, Any], error: type, code: str) -> None:
    sap.control.add_fault(match="/sap/bc/srt/", method="POST", **rule)
    with pytest.raises(error) as caught:
        _client(sap.base_url).call("MaterialGetDetail", Material="TG11")
    assert caught.value.code == code and caught.value.partner == "SAP"
    if rule.get("scenario") == "busy":
        assert caught.value.retry_after == 30.0


@pytest.mark.mock_sap
def test_http_basic_credentials_against_an_authenticating_sap(start_sap: Callable[..., MockSap]) -> None:
    sap = start_sap(basic_auth=("CROSSDOCK", "Welcome1"))
    good = _client(sap.base_url, username="CROSSDOCK", password="Welcome1", credentials="http_basic")
    assert good.call("MaterialGetDetail", Material="TG11")["MATERIAL_GENERAL_DATA"]["MATERIAL"] == "TG11"
    bad = _client(sap.base_url, username="CROSSDOCK", password="wrong", credentials="http_basic")
    with pytest.raises(PermanentError) as caught:
        bad.call("MaterialGetDetail", Material="TG11")
    assert caught.value.code == "soap.unauthorized"


@pytest.mark.mock_sap
@pytest.mark.slow
def test_a_slow_sap_times_out_retryable(start_sap: Callable[..., MockSap]) -> None:
    sap = start_sap(slow_ms=2000)
    sap.control.add_fault(match="/sap/bc/srt/", method="POST", scenario="slow")
    started = time.monotonic()
    with pytest.raises(RetryableError) as caught:
        _client(sap.base_url, timeout_seconds=0.5).call("MaterialGetDetail", Material="TG11")
    assert caught.value.details["reason"] == "timeout" and time.monotonic() - started < 1.9


# ------------------------------------------------------------------ local SOAP server


def _fault11(code: str, text: str, name: str) -> bytes:
    return (f'<?xml version="1.0"?><soap-env:Envelope xmlns:soap-env="{S11}"><soap-env:Body><soap-env:Fault>'
            f"<faultcode>soap-env:{code}</faultcode><faultstring>{text}</faultstring>"
            f'<detail><n0:SystemFault xmlns:n0="urn:sap-com:document:sap:soap:functions:mc-style">'
            f"<Name>{name}</Name><Text>{text}</Text></n0:SystemFault></detail>"
            "</soap-env:Fault></soap-env:Body></soap-env:Envelope>").encode()


def _fault12(code: str, text: str) -> bytes:
    return (f'<?xml version="1.0"?><env:Envelope xmlns:env="{S12}"><env:Body><env:Fault>'
            f"<env:Code><env:Value>env:{code}</env:Value></env:Code>"
            f'<env:Reason><env:Text xml:lang="en">{text}</env:Text></env:Reason>'
            "</env:Fault></env:Body></env:Envelope>").encode()


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE e [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/"><soap-env:Body>
<n0:MaterialGetDetailResponse xmlns:n0="urn:sap-com:document:sap:soap:functions:mc-style">
<MATERIAL_GENERAL_DATA><MATL_DESC>&d;</MATL_DESC></MATERIAL_GENERAL_DATA>
</n0:MaterialGetDetailResponse></soap-env:Body></soap-env:Envelope>"""
XXE = BOMB.split(b"<!DOCTYPE")[0] + b'<!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + \
    BOMB.split(b"]>", 1)[1].replace(b"&d;", b"&x;")


@pytest.fixture
def soap_server() -> Iterator[tuple[str, Callable[[int, bytes, str], None]]]:
    answer: dict[str, Any] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(answer["status"])
            self.send_header("Content-Type", answer["type"])
            self.send_header("Content-Length", str(len(answer["body"])))
            self.end_headers()
            self.wfile.write(answer["body"])

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def set_answer(status: int, body: bytes, content_type: str = "text/xml; charset=utf-8") -> None:
        answer.update(status=status, body=body, type=content_type)

    yield f"http://127.0.0.1:{server.server_address[1]}", set_answer
    server.shutdown()
    server.server_close()


@pytest.fixture
def soap12_wsdl(tmp_path: Path) -> str:
    """The same service bound to SOAP 1.2 (an env:Sender / env:Receiver speaking partner)."""
    text = (WSDL_DIR / WSDL).read_text().replace(
        "http://schemas.xmlsoap.org/wsdl/soap/", "http://schemas.xmlsoap.org/wsdl/soap12/")
    path = tmp_path / "material_soap12.wsdl"
    path.write_text(text)
    return str(path)


FAULTS = [
    ("soap11-client", _fault11("Client", "Function module does not exist", "RFC_ERROR_FUNCTION_NOT_FOUND"),
     PermanentError, "soap.client_fault", None),
    ("soap11-client-business", _fault11("Client", "Credit limit exceeded", "CX_SD_CREDIT_LIMIT"),
     BusinessException, "soap.business_fault", None),
    ("soap11-server", _fault11("Server", "Update task terminated", "SYSTEM_FAILURE"),
     RetryableError, "soap.server_fault", None),
    ("soap12-sender", _fault12("Sender", "Invalid material number"), PermanentError, "soap.client_fault", 12),
    ("soap12-receiver", _fault12("Receiver", "Backend not available"), RetryableError, "soap.server_fault", 12),
]


@pytest.mark.parametrize(("case", "body", "error", "code", "version"), FAULTS, ids=[f[0] for f in FAULTS])
def test_soap_faults_are_classified(soap_server, soap12_wsdl, case, body, error, code, version) -> None:
    url, answer = soap_server
    answer(500, body, "application/soap+xml; charset=utf-8" if version else "text/xml; charset=utf-8")
    wsdl = soap12_wsdl if version else WSDL
    client = _client(url, wsdl=wsdl, sap_csrf=False, business_faults=frozenset({"CX_SD_CREDIT_LIMIT"}))
    with pytest.raises(error) as caught:
        client.call("MaterialGetDetail", Material="TG11")
    assert type(caught.value) is error and caught.value.code == code
    assert caught.value.details["operation"] == "MaterialGetDetail" and caught.value.partner == "SAP"


@pytest.mark.parametrize("payload", [BOMB, XXE], ids=["entity-bomb", "external-entity"])
def test_hostile_soap_replies_are_refused(soap_server, payload: bytes) -> None:
    url, answer = soap_server
    answer(200, payload)
    started = time.monotonic()
    with pytest.raises(XmlRejected) as caught:
        _client(url, sap_csrf=False).call("MaterialGetDetail", Material="TG11")
    assert caught.value.code == "xml.forbidden" and time.monotonic() - started < 2
    assert "root:" not in str(caught.value.describe())


def test_unreachable_endpoint_is_retryable() -> None:
    with pytest.raises(RetryableError) as caught:
        _client("http://127.0.0.1:9", sap_csrf=False).call("MaterialGetDetail", Material="TG11")
    assert caught.value.details["reason"] == "connection"


def test_wsdl_outside_the_repository_folder_is_a_configuration_error() -> None:
    with pytest.raises(PermanentError) as caught:
        SoapClient(SoapConfig(wsdl="no_such.wsdl"))
    assert caught.value.code == "config.error"


def test_a_2xx_reply_that_is_not_xml_is_a_bad_reply() -> None:
    import zeep.exceptions as zx

    from connectors.transports.soap_errors import classify_soap_error

    try:
        try:
            raise zx.XMLSyntaxError("not xml")
        except zx.XMLSyntaxError:
            raise zx.TransportError(status_code=200, content=b"<html>maintenance</html>") from None
    except zx.TransportError as exc:
        exc.__context__ = zx.XMLSyntaxError("not xml")
        error = classify_soap_error(exc, partner="ACME")
    assert error.code == "soap.bad_reply" and error.partner == "ACME"
