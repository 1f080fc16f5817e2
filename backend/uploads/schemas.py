"""Request and response models of the uploads API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from backend.uploads.models import UploadKind


class UploadForm(BaseModel):
    """The non-file fields of `POST /uploads` (multipart/form-data; the file is `file`)."""

    model_config = ConfigDict(extra="forbid")
    kind: UploadKind = Field(description="what the document is, e.g. hukou_book (户口簿)")


class UploadOut(BaseModel):
    """A stored document; sha256 and size describe the stored (cleaned) bytes."""

    upload_id: str = Field(description="32 hex characters")
    kind: UploadKind
    content_type: str = Field(examples=["image/jpeg", "image/png", "application/pdf"])
    sha256: str = Field(description="hex sha256 of the bytes GET /uploads/{upload_id} returns")
    size: int = Field(description="bytes")
