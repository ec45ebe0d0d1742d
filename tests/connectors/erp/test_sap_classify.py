"""Pure-logic tests: how an SAP answer becomes a canonical error, and the config's rules."""

from __future__ import annotations

import json

import httpx
import pytest
from pydantic import ValidationError

from canonical.errors import BusinessException, PermanentError, RetryableError
from connectors.erp import SapS4Config
from connectors.erp.sap_batch import build_batch, parse_batch
from connectors.erp.sap_errors import classify_response, retry_after_seconds


def sap_error(status: int, message: str = "boom", *, code: str = "/IWBEP/CX_MGW_TECH_EXCEPTION",
              headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"error": {"code": code, "message": {"lang": "en", "value": message},
                      "innererror": {"transactionid": "ABC123", "errordetails": []}}}
    return httpx.Response(status, json=body, headers=headers or {})


@pytest.mark.parametrize(("response", "kind", "code", "retry_after"), [
    (sap_error(503, headers={"Retry-After": "30"}), RetryableError, "erp.unavailable", 30.0),
    (sap_error(429, headers={"Retry-After": "7"}), RetryableError, "erp.throttled", 7.0),
    (sap_error(423, "Document is locked by user X"), RetryableError, "erp.locked", None),
    (sap_error(412), RetryableError, "erp.precondition_failed", None),
    (sap_error(500), RetryableError, "erp.server_error", None),
    (sap_error(502), RetryableError, "erp.server_error", None),
    (sap_error(403, headers={"x-csrf-token": "Required"}), RetryableError, "erp.csrf", None),
    (sap_error(401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}),
     RetryableError, "erp.token_expired", None),
    (sap_error(401, headers={"WWW-Authenticate": 'Basic realm="x"'}), PermanentError,
     "erp.unauthorized", None),
    (sap_error(403, "No authorization"), PermanentError, "erp.unauthorized", None),
    (sap_error(404), PermanentError, "erp.not_found", None),
    (sap_error(400, "Property 'Foo' does not exist in type 'A_SalesOrder'"), PermanentError,
     "erp.bad_request", None),
    (sap_error(400, "Material XYZ-1 does not exist", code="V1/392"), BusinessException,
     "erp.rejected.unknown_material", None),
    (sap_error(400, "Sold-to party 1000001 is blocked centrally"), BusinessException,
     "erp.rejected.blocked_customer", None),
    (sap_error(400, "Customer 42 does not exist"), BusinessException,
     "erp.rejected.unknown_customer", None),
    (httpx.Response(502, text="<html>Bad gateway</html>"), RetryableError, "erp.server_error", None),
])
def test_classification_table(response, kind, code, retry_after):
    error = classify_response(response, method="POST", path="/x/A_SalesOrder")

    assert type(error) is kind
    assert error.code == code
    assert getattr(error, "retry_after", None) == retry_after
    assert error.details["status"] == response.status_code
    assert error.details["path"] == "/x/A_SalesOrder"


def test_evidence_keeps_sap_code_text_and_request_id():
    error = classify_response(sap_error(500, "Backend unreachable"), method="GET", path="/p")

    assert error.details["sap_code"] == "/IWBEP/CX_MGW_TECH_EXCEPTION"
    assert error.details["sap_message"] == "Backend unreachable"
    assert error.details["request_id"] == "ABC123"


def test_retry_after_as_http_date_is_seconds_from_now():
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert retry_after_seconds("12") == 12.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None


def test_batch_round_trip_keeps_request_order():
    body = build_batch(["A_Product('A')", "A_Product('B')?$select=Product"], "b1")
    assert body.count(b"GET A_Product(") == 2 and b"$select=Product&$format=json" in body

    answer = (b"--r1\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 200 OK\r\n"
              b"Content-Type: application/json\r\n\r\n" + json.dumps({"d": {"Product": "A"}}).encode()
              + b"\r\n--r1\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 404 Not Found\r\n"
              b"Content-Type: application/json\r\n\r\n{}\r\n--r1--\r\n")
    parts = parse_batch("multipart/mixed; boundary=r1", answer)

    assert [(p.status, p.data) for p in parts] == [(200, {"Product": "A"}), (404, None)]


def test_config_demands_the_credentials_of_its_auth_kind_and_hides_secrets():
    with pytest.raises(ValidationError, match="username and password"):
        SapS4Config(base_url="http://127.0.0.1:1", auth="basic")
    with pytest.raises(ValidationError, match="oauth_client_id"):
        SapS4Config(base_url="http://127.0.0.1:1", auth="oauth2")
    config = SapS4Config(base_url="http://127.0.0.1:1/", auth="oauth2", oauth_client_id="c",
                         oauth_client_secret="s3cret")

    assert "s3cret" not in repr(config)
    assert config.token_url == "http://127.0.0.1:1/sap/bc/sec/oauth2/token"
