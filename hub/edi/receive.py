"""Receiving EDI: who sent it (from the envelope), raw first, and replays refused at the door.

``EdiInbox`` wraps the hub's inbox for the EDI doors (``POST /as2``, ``POST
/api/v1/inbound/edi``): it reads the first envelope's sender and recipient ids to find the
partner profile (``edi.interchange_id`` + ``edi.our_interchange_id``), stores the raw
bytes under that partner, and — when the very same bytes arrived before, which the inbox
archives without processing — refuses each interchange in them (TA1 025 / CONTRL 26).

Usage:
    inbox = EdiInbox(hub.db, hub.inbox, blobs=hub.blobs)
    stored = inbox.store(Receipt(partner_id="?", channel="http"), payload)
"""

from __future__ import annotations

from functools import cache
from typing import IO, Any, cast

from anyio import to_thread
from sqlalchemy import Select, Table, bindparam, select

from canonical.errors import CrossdockError
from connectors.base import Receipt, StoredReceipt
from connectors.formats import read_any, read_envelope, sniff
from connectors.formats.model import Interchange
from connectors.transports.as2.config import AS2PartnerConfig
from hub.edi.acks import refuse_replay
from hub.edi.profile import edi_profile
from hub.inbox import BlobStore, DatabaseInbox
from hub.storage.db import Database
from hub.storage.edi_tables import EdiReceived
from hub.storage.tables import InboxEntry, Partner

__all__ = ["EdiInbox", "as2_partner", "envelope_of", "partner_for_envelope", "sender_hint"]


def envelope_of(raw: bytes) -> Interchange | None:
    """The first interchange's envelope in ``raw``, its header alone (None when it is not
    X12/EDIFACT or its header is unreadable): whose it is, without reading its sets, which
    the request's event loop would otherwise wait for (half a second for 10 MB)."""
    if sniff(raw) is None:
        return None
    try:
        return read_envelope(raw)
    except CrossdockError:
        return None


def sender_hint(raw: bytes) -> tuple[str, str] | None:
    """(sender, recipient) read leniently from an ISA or UNB too broken to read as an envelope.

    For attributing a broken interchange to its partner, nothing else: the ISA's own element
    separator (its 4th character) and its 6th and 8th elements, or the UNB's (after any UNA)
    2nd and 3rd.
    """
    text = raw[:1024].decode("latin-1").lstrip("\ufeff\ufffe\xef\xbb\xbf \r\n\t")
    if text[:3] == "ISA" and len(text) > 3:
        parts = text.split(text[3])  # cut short, it may still name the sender
        return (parts[6].strip(), parts[8].strip() if len(parts) > 8 else "") if len(parts) > 6 else None
    component, element = ":", "+"
    if text[:3] == "UNA" and len(text) >= 9:
        component, element, text = text[3], text[4], text[9:].lstrip("\r\n")
    if text[:3] == "UNB":
        parts = text.split(element)
        if len(parts) > 3:
            return parts[2].split(component)[0].strip(), parts[3].split(component)[0].strip()
    return None


def _profiles_naming(db: Database, section: str, key: str, value: str) -> list[dict[str, Any]]:
    """The active profiles whose ``<section>.<key>`` is ``value``, read in SQL: a hub with hundreds
    of partners reads the one or two that match for each interchange, not all of them."""
    with db.read_connection() as conn:
        return [{**profile, "id": partner_id}
                for partner_id, profile in conn.execute(_naming(section, key), {"value": value})]


_PARTNERS = cast(Table, Partner.__table__)


@cache
def _naming(section: str, key: str) -> Select[Any]:
    return (select(_PARTNERS.c.id, _PARTNERS.c.profile)
            .where(_PARTNERS.c.active.is_(True),
                   _PARTNERS.c.profile[section][key].as_string() == bindparam("value"))
            .order_by(_PARTNERS.c.id))


def partner_for_envelope(db: Database, sender: str, receiver: str) -> str | None:
    """The partner whose profile names ``sender`` (and, preferably, ``receiver`` as us)."""
    sender, receiver = sender.strip(), receiver.strip()
    fallback = None
    for profile in _profiles_naming(db, "edi", "interchange_id", sender):
        edi = edi_profile(profile)
        if edi is None or edi.interchange_id != sender:
            continue
        if edi.our_interchange_id == receiver:
            return str(profile["id"])
        fallback = fallback or str(profile["id"])
    return fallback


def as2_partner(db: Database, as2_id: str) -> AS2PartnerConfig | None:
    """The AS2 configuration of the partner whose ``as2.as2_id`` is ``as2_id``."""
    for profile in _profiles_naming(db, "as2", "as2_id", as2_id):
        raw = profile.get("as2")
        if raw and raw.get("as2_id") == as2_id:
            return AS2PartnerConfig.model_validate(raw)
    return None


class EdiInbox:
    """An ``Inbox`` for EDI doors (see the module docstring)."""

    def __init__(self, db: Database, inbox: DatabaseInbox, *, blobs: BlobStore) -> None:
        self.db = db
        self.inbox = inbox
        self.blobs = blobs

    def store(self, receipt: Receipt, body: bytes | IO[bytes]) -> StoredReceipt:
        raw = body if isinstance(body, bytes) else body.read()
        ic = envelope_of(raw)
        if ic is not None:
            self._resolve(receipt, ic)
        stored = self.inbox.store(receipt, raw)
        if stored.already_seen:
            self._refuse(receipt.partner_id, raw, stored.receipt_id)
        return stored

    async def store_async(self, receipt: Receipt, raw: bytes, ic: Interchange | None) -> StoredReceipt:
        """``store`` for the event loop, ``ic`` being the first envelope (read already): the receipt
        joins the inbox's group commit with the other requests', as JSON receipts do."""
        if ic is not None:
            await to_thread.run_sync(self._resolve, receipt, ic)
        stored = await self.inbox.store_async(receipt, raw)
        if stored.already_seen:
            await to_thread.run_sync(self._refuse, receipt.partner_id, raw, stored.receipt_id)
        return stored

    def _resolve(self, receipt: Receipt, ic: Interchange) -> None:
        """The partner is the one whose profile names the envelope's sender (and us)."""
        found = partner_for_envelope(self.db, ic.sender_id, ic.receiver_id)
        if found is not None:
            receipt.meta.setdefault("transport_partner", receipt.partner_id)
            receipt.partner_id = found

    def _refuse(self, partner_id: str, raw: bytes, inbox_id: int) -> None:
        with self.db.session() as s:
            row = s.get(Partner, partner_id)
            if row is None or edi_profile(row.profile) is None:
                return
            try:
                interchanges = list(read_any(raw, partner=partner_id))
            except CrossdockError:
                return
            for ic in interchanges:
                s.add(EdiReceived(inbox_id=inbox_id, partner_id=partner_id, standard=ic.standard,
                                  interchange_control=ic.control_number.strip(), status="duplicate", findings=[],
                                  notes=[{"rule": "replayed-interchange", "message": "the same bytes arrived "
                                          "again: archived, refused, not processed"}]))
                refuse_replay(s, partner_id, ic, inbox_id=inbox_id)
            entry = s.get(InboxEntry, inbox_id)
            if entry is not None:
                entry.outcome = {**(entry.outcome or {}), "edi": {"replays": [ic.control_number for ic in interchanges]}}
