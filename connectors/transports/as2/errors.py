"""Why an AS2 message was refused, named by what the receiver answers.

    PermanentError (canonical.errors)
    └── AS2Error                    carries partner, header, HTTP status, MDN modifier
        ├── AS2RequestError         missing/bad header, not MIME, bad encoding (400)
        ├── UnknownPartnerError     AS2-From not configured, or AS2-To not us (403)
        └── AS2SecurityError        signature, decryption or policy failure (403)

``mdn_modifier`` is the RFC 4130 section 7.5.3 error modifier used when the refusal is
answered with an MDN (``processed/error: <modifier>``).
"""

from __future__ import annotations

from typing import Any

from canonical.errors import PermanentError

__all__ = ["AS2Error", "AS2RequestError", "AS2SecurityError", "UnknownPartnerError"]


class AS2Error(PermanentError):
    """An inbound AS2 message Crossdock will not take as it is."""

    code = "as2.error"
    http_status = 400
    mdn_modifier = "unexpected-processing-error"

    def __init__(self, message: str, *, header: str | None = None,
                 message_id: str | None = None, **kw: Any) -> None:
        super().__init__(message, document=message_id, **kw)
        self.header = header
        self.message_id = message_id


class AS2RequestError(AS2Error):
    """The request is not a well-formed AS2 message (a header, the MIME body)."""

    code = "as2.bad_request"


class UnknownPartnerError(AS2Error):
    """No trading relationship: unknown AS2-From, or an AS2-To that is not ours."""

    code = "as2.unknown_partner"
    http_status = 403
    mdn_modifier = "authentication-failed"


class AS2SecurityError(AS2Error):
    """Signature, decryption or the partner's security policy failed."""

    code = "as2.security"
    http_status = 403
    mdn_modifier = "insufficient-message-security"

    def __init__(self, message: str, *, modifier: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        if modifier:
            self.mdn_modifier = modifier
