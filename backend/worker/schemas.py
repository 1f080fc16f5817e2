"""Dead-letter administration: what the bureau sees of failed queue messages."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DeadLetterOut(BaseModel):
    """A message that kept failing, with the reason (no personal data in it)."""

    id: str
    stream: str
    type: str
    reason: str
    failed_at: str
    original_id: str


class DeadLetterList(BaseModel):
    """Dead-lettered messages of every stream."""

    items: list[DeadLetterOut]


class ReplayOut(BaseModel):
    """Where a replayed message now waits."""

    model_config = ConfigDict(extra="forbid")
    stream: str
    message_id: str = Field(description="the new stream id")
