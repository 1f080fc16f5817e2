"""Dead-letter administration: what the bureau sees of failed queue messages."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# backend.core.jobs.STREAMS
StreamName = Literal["{intake}", "jobs"]


class DeadLetterOut(BaseModel):
    """A message that kept failing, with the reason (ids only: no personal data in it)."""

    id: str
    stream: str
    type: str
    type_name: str = Field(description="what the message does, in Chinese")
    reason: str = Field(description="the error: an exception's class name, or why the "
                                    "message could not be read")
    reason_text: str = Field(description="the reason explained in Chinese")
    failed_at: str = Field(description="when it was dead-lettered, Beijing time (+08:00)")
    attempts: int | None = Field(description="deliveries before it was given up on")
    original_id: str
    ids: dict[str, str] = Field(description="the ids the message names (registration, "
                                            "season, school, ticket …)")
    scope: Literal["authority", "deployment"] = Field(
        description="'authority': about the caller's authority; 'deployment': names no "
                    "authority (e.g. an unreadable message), seen by every bureau")


class DeadLetterQuery(BaseModel):
    """Filters of the dead-letter list; which page."""

    model_config = ConfigDict(extra="forbid")
    stream: StreamName | None = None
    type: str | None = Field(default=None, max_length=64)
    page: int = Field(default=1, ge=1, le=100_000)
    page_size: int = Field(default=20, ge=1, le=100)


class DeadLetterList(BaseModel):
    """A page of the dead-lettered messages the caller may see, oldest first."""

    items: list[DeadLetterOut]
    total: int
    page: int
    page_size: int
    job_types: dict[str, str] = Field(description="every job type by its Chinese name, for "
                                                  "the type filter")


class ReplayOut(BaseModel):
    """Where a replayed message now waits."""

    model_config = ConfigDict(extra="forbid")
    stream: str
    message_id: str = Field(description="the new stream id")
    state: Literal["queued"] = "queued"


class QueueMessageOut(BaseModel):
    """What became of a (replayed) message: still queued, processed, or failed again."""

    stream: str
    message_id: str
    state: Literal["queued", "processed", "failed"]
    reason: str | None = None
    reason_text: str | None = None
    dead_letter_id: str | None = Field(default=None,
                                       description="its new dead letter, when it failed again")
