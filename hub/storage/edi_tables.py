"""EDI state: control numbers, interchanges seen, what was received and what was sent.

edi_control_numbers   the last control number used per partner and kind (isa, gs, st, unb, unh)
edi_seen              first receipt of each (partner, sender id, interchange control number):
                      a second row for the same key is a replay and is refused
edi_received          every transaction set / message received, its verdict and its links
edi_outbound          every interchange Crossdock sends: raw bytes, control numbers, transport
                      status (see ``EdiOutbound.status``), the AS2 Message-ID and MIC of its last
                      send, and the partner's verdict (accepted, rejected)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.storage.tables import Base, Id, utcnow

__all__ = ["EdiControlNumber", "EdiOutbound", "EdiReceived", "EdiSeen"]


class EdiControlNumber(Base):
    __tablename__ = "edi_control_numbers"
    partner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)  # isa gs st unb unh
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class EdiSeen(Base):
    __tablename__ = "edi_seen"
    partner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sender_id: Mapped[str] = mapped_column(String(35), primary_key=True)
    control_number: Mapped[str] = mapped_column(String(14), primary_key=True)
    inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EdiReceived(Base):
    __tablename__ = "edi_received"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox.id"))
    partner_id: Mapped[str] = mapped_column(String(64))
    standard: Mapped[str] = mapped_column(String(10))
    interchange_control: Mapped[str] = mapped_column(String(14))
    group_control: Mapped[str | None] = mapped_column(String(14))
    set_id: Mapped[str | None] = mapped_column(String(10))  # None: the interchange as a whole
    control_number: Mapped[str | None] = mapped_column(String(14))
    # accepted | rejected | duplicate (a replayed interchange, refused)
    status: Mapped[str] = mapped_column(String(20))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    document_type: Mapped[str | None] = mapped_column(String(40))
    po_number: Mapped[str | None] = mapped_column(String(35))
    outbound_id: Mapped[int | None] = mapped_column(ForeignKey("edi_outbound.id"))  # the PO it answers
    dead_letter_id: Mapped[int | None] = mapped_column(ForeignKey("dead_letters.id"))
    canonical: Mapped[dict[str, Any] | None] = mapped_column()  # the set as read, whatever became of it
    findings: Mapped[list[Any]] = mapped_column(default=list)
    notes: Mapped[list[Any]] = mapped_column(default=list)  # business differences found
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (Index("ix_edi_received_inbox", "inbox_id"),
                      Index("ix_edi_received_po", "partner_id", "po_number"))


class EdiOutbound(Base):
    __tablename__ = "edi_outbound"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    partner_id: Mapped[str] = mapped_column(String(64))
    standard: Mapped[str] = mapped_column(String(10))
    set_id: Mapped[str] = mapped_column(String(10))  # 850 855 856 810 997 999 TA1 ORDERS CONTRL ...
    document_type: Mapped[str | None] = mapped_column(String(40))
    po_number: Mapped[str | None] = mapped_column(String(35))
    interchange_control: Mapped[str] = mapped_column(String(14))
    group_control: Mapped[str | None] = mapped_column(String(14))
    control_number: Mapped[str | None] = mapped_column(String(14))  # ST02 / UNH 0062
    answers_inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox.id"))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    canonical: Mapped[dict[str, Any] | None] = mapped_column()
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    # Transport status:
    #   queued        waiting to be sent (or resent); an AS2 send in flight keeps it until answered
    #   awaiting_mdn  sent over AS2 with an asynchronous MDN asked for; not delivered until it arrives
    #   sent          delivered: verified MDN, HTTP 2xx without MDN, file written, or mailbox
    #   refused       the partner's MDN says it could not process it (not resent)
    #   failed        retries spent, MIC mismatch, or no async MDN after the last resend
    status: Mapped[str] = mapped_column(String(20), default="queued")
    # pending | accepted | rejected | not_expected (the partner's functional acknowledgment)
    ack_status: Mapped[str] = mapped_column(String(20), default="not_expected")
    ack_due_at: Mapped[datetime | None]
    ack_detail: Mapped[list[Any]] = mapped_column(default=list)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    receipt: Mapped[str | None] = mapped_column(Text)  # the MDN's disposition, or the file written
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    # added by migration 0003_edi (asynchronous MDNs): the last AS2 send and what its MDN must say
    as2_message_id: Mapped[str | None] = mapped_column(String(255))  # Message-ID of the last send
    as2_mic: Mapped[str | None] = mapped_column(String(200))  # acceptable MICs, space-separated, ours first
    as2_mic_algorithm: Mapped[str | None] = mapped_column(String(10))  # sha256 | sha1
    mdn_due_at: Mapped[datetime | None]  # awaiting_mdn: resent (or failed) when no MDN by then
    mdn_resends: Mapped[int | None] = mapped_column(Integer)  # resends for a missing MDN (None: none)
    as2_earlier_message_ids: Mapped[list[Any] | None] = mapped_column()  # sends before the last (a late MDN)
    __table_args__ = (Index("ix_edi_outbound_status", "status", "next_attempt_at"),
                      Index("ix_edi_outbound_as2_message", "as2_message_id"),
                      Index("ix_edi_outbound_match", "partner_id", "interchange_control"),
                      Index("ix_edi_outbound_po", "partner_id", "po_number"))
