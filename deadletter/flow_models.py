"""What the dead-letter operations API accepts: edits, bulk replays, pausing a partner."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, model_validator

__all__ = ["BulkReplayRequest", "EditRequest", "PauseRequest"]


class EditRequest(BaseModel):
    reason: str = Field(min_length=3, max_length=2000, description="Why it was edited (kept with the diff)")
    raw: str | None = Field(None, description="The edited raw payload (text)")
    canonical: dict[str, Any] | list[Any] | None = Field(
        None, description="The edited canonical JSON (skips the partner format; every check runs again)")

    @model_validator(mode="after")
    def _one(self) -> EditRequest:
        if (self.raw is None) == (self.canonical is None):
            raise ValueError("give either raw or canonical")
        return self


class BulkReplayRequest(BaseModel):
    partner: str | None = None
    document_type: str | None = None
    error_code: str | None = None
    stage: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    rate: float = Field(10.0, gt=0, le=10_000, description="Jobs released per second")
    dry_run: bool = Field(True, description="Only count what would be replayed (the default)")
    reason: str | None = Field(None, max_length=2000)


class PauseRequest(BaseModel):
    reason: str | None = Field(None, max_length=2000)
