"""Uploaded documents (户口簿, 房产证, 居住证, 出生医学证明, 残疾证 …), stored encrypted."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, utcnow
from backend.core.types import str_enum


class UploadKind(enum.Enum):
    """What a document is; categories and bases name the kinds they need."""

    HUKOU_BOOK = "hukou_book"  # 户口簿
    PROPERTY_CERTIFICATE = "property_certificate"  # 房产证 / 购房合同
    RENTAL_RECORD = "rental_record"  # 租赁备案
    RESIDENCE_PERMIT = "residence_permit"  # 居住证
    BIRTH_CERTIFICATE = "birth_certificate"  # 出生医学证明
    DISABILITY_CERTIFICATE = "disability_certificate"  # 残疾证 / 评估意见
    ENTITLEMENT_PROOF = "entitlement_proof"  # 优抚对象证明
    EMPLOYMENT_PROOF = "employment_proof"  # 务工 / 经商证明
    IDENTITY_DOCUMENT = "identity_document"  # 护照 / 通行证 / 居住证（港澳台）
    OTHER = "other"


class Upload(Base):
    """One stored file: random storage name, sha256 of the stored bytes, owner."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[UploadKind] = mapped_column(str_enum(UploadKind, "upload_kind"))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    storage_name: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    purged_at: Mapped[dt.datetime | None]
