"""Message Disposition Notifications (RFC 3798 / RFC 4130 section 7): write and read them.

Usage:
    headers, body = build_mdn(message, status=MdnStatus.PROCESSED)
    report = parse_mdn(response_headers, response_body)
    report.ok, report.original_message_id, report.mic
"""

from __future__ import annotations

import email.utils
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from enum import StrEnum

from connectors.transports.as2.config import MicAlgorithm
from connectors.transports.as2.message import AS2Message, quote_id
from connectors.transports.as2.mime import MimeEntity, MimeError, compute_mic, entity_from_http

__all__ = ["MdnReport", "MdnStatus", "build_mdn", "is_mdn", "parse_mdn", "render_mdn"]

AS2_VERSION = "1.2"
REPORTING_UA = "Crossdock AS2"


class MdnStatus(StrEnum):
    """The disposition we report for a received message."""

    PROCESSED = "processed"
    ERROR = "processed/error"
    FAILED = "failed"


_DEFAULT_MODIFIER = {MdnStatus.ERROR: "unexpected-processing-error",
                     MdnStatus.FAILED: "unsupported-format"}


def _disposition(status: MdnStatus, modifier: str | None) -> str:
    if status is MdnStatus.PROCESSED:
        return "processed"
    word = "error" if status is MdnStatus.ERROR else "failure"
    return f"{status.value.split('/')[0]}/{word}: {modifier or _DEFAULT_MODIFIER[status]}"


def render_mdn(*, our_id: str, partner_id: str, original_message_id: str,
               disposition: str, text: str, mic: str | None) -> tuple[dict[str, str], bytes]:
    """Write a multipart/report MDN from its parts (for callers without an AS2Message)."""
    boundary = f"----=_crossdock_mdn_{secrets.token_hex(12)}"
    fields = [f"Reporting-UA: {REPORTING_UA}", f"Original-Recipient: rfc822; {our_id}",
              f"Final-Recipient: rfc822; {our_id}",
              f"Original-Message-ID: {original_message_id}"]
    if mic:
        fields.append(f"Received-Content-MIC: {mic}")
    fields.append(f"Disposition: automatic-action/MDN-sent-automatically; {disposition}")
    text_bytes = text.encode("utf-8")
    charset = "us-ascii" if text_bytes.isascii() else "utf-8"
    body = (f"--{boundary}\r\nContent-Type: text/plain; charset={charset}\r\n"
            f"Content-Transfer-Encoding: {'7bit' if charset == 'us-ascii' else '8bit'}"
            "\r\n\r\n").encode() + text_bytes + (
        f"\r\n\r\n--{boundary}\r\nContent-Type: message/disposition-notification\r\n"
        "Content-Transfer-Encoding: 7bit\r\n\r\n" + "\r\n".join(fields)
        + f"\r\n\r\n--{boundary}--\r\n").encode("utf-8")
    headers = {
        "Content-Type": "multipart/report; report-type=disposition-notification; "
                        f'boundary="{boundary}"',
        "AS2-Version": AS2_VERSION, "AS2-From": quote_id(our_id), "AS2-To": quote_id(partner_id),
        "Message-ID": email.utils.make_msgid(domain="crossdock"),
        "Date": email.utils.formatdate(usegmt=True), "MIME-Version": "1.0",
        "Subject": "Message Disposition Notification",
    }
    return headers, body


def build_mdn(message: AS2Message, *, status: MdnStatus | str = MdnStatus.PROCESSED,
              detail: str | None = None, mic_algorithm: MicAlgorithm | None = None,
              modifier: str | None = None) -> tuple[dict[str, str], bytes]:
    """The MDN answering ``message``: (HTTP headers, multipart/report body).

    Received-Content-MIC is taken over ``message.mic_content`` with the algorithm the
    sender asked for in Disposition-Notification-Options unless ``mic_algorithm`` is given.

    Usage:
        headers, body = build_mdn(message, status="processed")
    """
    status = MdnStatus(status)
    algorithm = mic_algorithm or message.mic_algorithm
    mic = f"{compute_mic(message.mic_content, algorithm.value)}, {algorithm.value}"
    text = detail or (
        f"The AS2 message {message.message_id} from {message.as2_from} was received"
        + (" and stored. This is no guarantee that its contents have been processed."
           if status is MdnStatus.PROCESSED else " but could not be processed."))
    return render_mdn(our_id=message.as2_to, partner_id=message.as2_from,
                      original_message_id=message.message_id,
                      disposition=_disposition(status, modifier), text=text,
                      mic=mic if status is not MdnStatus.FAILED else None)


@dataclass(frozen=True, slots=True)
class MdnReport:
    """What a received MDN says."""

    original_message_id: str | None
    disposition: str
    mic: str | None
    mic_algorithm: str | None
    text: str
    message_id: str | None = None
    as2_from: str | None = None
    signed: bool = False  # arrived as multipart/signed (checked by the sender if it can)

    @property
    def disposition_type(self) -> str:
        """``processed`` or ``failed``: the word after the action mode."""
        return self.disposition.rpartition(";")[2].strip().split("/")[0].strip().lower()

    @property
    def modifier(self) -> str | None:
        """``error: <reason>`` / ``warning: ...`` / ``failure: ...``, if any."""
        _type, slash, rest = self.disposition.rpartition(";")[2].strip().partition("/")
        return rest.strip() or None if slash else None

    @property
    def ok(self) -> bool:
        mod = (self.modifier or "").lower()
        return self.disposition_type == "processed" and (not mod or mod.startswith("warning"))


def is_mdn(headers: Mapping[str, str], body: bytes = b"") -> bool:
    """Whether an inbound AS2 POST is an MDN (an async receipt) rather than a message.

    An MDN is a ``multipart/report``, or a ``multipart/signed`` whose first part is one
    (pass ``body`` to recognise a signed MDN). A payload is never a report: EDI travels as
    ``application/*``, signed or encrypted.
    """
    content_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    kind = content_type.strip().lower()
    if kind.startswith("multipart/report"):
        return True
    if not (body and kind.startswith("multipart/signed")):
        return False
    try:
        return entity_from_http(headers, body).parts()[0].content_type == "multipart/report"
    except (MimeError, IndexError):
        return False


def _report_parts(entity: MimeEntity) -> list[MimeEntity]:
    if entity.content_type == "multipart/signed":
        entity = entity.parts()[0]
    if entity.content_type != "multipart/report":
        raise MimeError(f"an MDN is multipart/report, not {entity.content_type}")
    return entity.parts()


def parse_mdn(headers: Mapping[str, str], body: bytes) -> MdnReport:
    """Read an MDN from HTTP headers and body; raises ``MimeError`` if it is not one."""
    entity = entity_from_http(headers, body)
    parts = _report_parts(entity)
    notice = next((p for p in parts if p.content_type == "message/disposition-notification"),
                  None)
    if notice is None:
        raise MimeError("multipart/report has no message/disposition-notification part")
    fields = BytesHeaderParser().parsebytes(notice.decoded().strip() + b"\r\n\r\n")
    text = next((p.decoded().decode("utf-8", "replace").strip() for p in parts
                 if p.content_type == "text/plain"), "")
    mic_field = str(fields.get("Received-Content-MIC", "")).strip()
    mic, _comma, algorithm = mic_field.partition(",")
    lowered = {k.lower(): v for k, v in headers.items()}
    return MdnReport(
        original_message_id=(str(fields.get("Original-Message-ID", "")).strip() or None),
        disposition=" ".join(str(fields.get("Disposition", "")).split()),
        mic=mic.strip() or None, mic_algorithm=algorithm.strip().lower() or None, text=text,
        message_id=lowered.get("message-id"), as2_from=lowered.get("as2-from"),
        signed=entity.content_type == "multipart/signed",
    )
