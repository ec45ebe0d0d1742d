"""Stages that need nothing but canonical documents and the context."""

from __future__ import annotations

from canonical.errors import AlreadySeen, ConfigurationError
from pipelines.runner import Message, StageContext

__all__ = ["dedupe", "resolve_partner"]


def resolve_partner(message: Message, ctx: StageContext) -> Message:
    """The sender must be a known, active partner (unknown → dead letter, replay once added)."""
    profile = ctx.partner(message.partner_id)
    if profile is None:
        raise ConfigurationError(
            f"unknown partner {message.partner_id!r}: add it (POST /api/v1/partners) and replay",
            code="partner.unknown", partner=message.partner_id,
        )
    if not profile.get("active", True):
        raise ConfigurationError(
            f"partner {message.partner_id!r} is deactivated", code="partner.inactive",
            partner=message.partner_id,
        )
    message.partner = profile
    return message


def dedupe(message: Message, ctx: StageContext) -> Message:
    """Documents whose idempotency key is known are already seen.

    When every document of the payload is known the whole payload is a successful no-op;
    otherwise the known ones are noted and the hub stores only the new ones.
    """
    for doc in message.documents:
        existing = message.held_id(doc.idempotency_key, ctx.find_document)
        if existing is not None:
            message.existing_ids[doc.idempotency_key] = existing
    if message.documents and len(message.existing_ids) == len(message.documents):
        first = message.documents[0]
        raise AlreadySeen(
            f"{first.document_type} {first.business_key} (revision {first.revision_of}) was already "
            f"processed as document {message.existing_ids[first.idempotency_key]}",
            existing_id=message.existing_ids[first.idempotency_key],
            idempotency_key=first.idempotency_key,
        )
    return message
