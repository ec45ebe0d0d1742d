"""What the dead-letter API reads and accepts (tables live in hub.storage.tables)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DeadLetterDetail", "DeadLetterRead", "DiscardRequest", "ReplayRequest"]


class DeadLetterRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    job_id: int
    inbox_id: int | None
    document_id: int | None
    partner_id: str | None
    document_type: str | None
    stage: str
    error_code: str
    error: str
    attempts: int
    status: str
    replay_count: int
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None


class DeadLetterDetail(DeadLetterRead):
    details: dict[str, Any]
    raw: str | None = Field(None, description="The raw payload as text (UTF-8), when it is text")
    raw_base64: str | None = Field(None, description="The raw payload in base64, when it is not text")
    raw_size: int | None = None
    channel: str | None = None
    received_at: datetime | None = None
    attempt_log: list[dict[str, Any]] = Field(default_factory=list)


class ReplayRequest(BaseModel):
    reason: str | None = Field(None, max_length=2000, description="Why it is replayed (kept in the audit log)")


class DiscardRequest(BaseModel):
    reason: str = Field(min_length=3, max_length=2000, description="Why it is discarded (required, audited)")
