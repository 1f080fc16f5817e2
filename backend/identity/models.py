"""Guardians (real-name binding), their children, and binding disputes."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.accounts.models import User
from backend.core.db import Base, TimestampMixin
from backend.core.types import str_enum
from backend.schools.models import Region


class DocumentType(enum.Enum):
    """Identity documents the policy accepts (居民身份证, and others for the named groups)."""

    RESIDENT_ID = "resident_id"  # 居民身份证
    HMT_RESIDENCE_PERMIT = "hmt_residence_permit"  # 港澳台居民居住证
    HK_MACAU_PERMIT = "hk_macau_permit"  # 港澳居民来往内地通行证
    TAIWAN_PERMIT = "taiwan_permit"  # 台湾居民来往大陆通行证
    FOREIGN_PASSPORT = "foreign_passport"  # 外国护照
    FOREIGN_PERMANENT_RESIDENCE = "foreign_permanent_residence"  # 外国人永久居留身份证


class Relation(enum.Enum):
    """How the guardian is related to the children."""

    FATHER = "father"
    MOTHER = "mother"
    GRANDPARENT = "grandparent"
    OTHER_GUARDIAN = "other_guardian"


class VerificationLevel(enum.Enum):
    """How far a real-name binding has been checked."""

    SELF_DECLARED = "self_declared"  # format and checksum only
    FACE_VERIFIED = "face_verified"  # WeChat 人脸核身 matched name + ID number


class Sex(enum.Enum):
    """From the ID number's 17th digit, or declared for other documents."""

    MALE = "male"
    FEMALE = "female"


class Guardian(TimestampMixin, Base):
    """A parent's real-name binding: one per WeChat account, one account per ID number."""

    __tablename__ = "guardians"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    document_type: Mapped[DocumentType] = mapped_column(str_enum(DocumentType, "document_type"))
    # Encrypted (AES-GCM, key id inside); NULL once purged.
    id_number_enc: Mapped[str | None] = mapped_column(String(255))
    # Keyed blind index: uniqueness without plaintext (one ID number, one account).
    id_number_index: Mapped[str | None] = mapped_column(String(64), unique=True)
    relation: Mapped[Relation] = mapped_column(str_enum(Relation, "guardian_relation"))
    phone_enc: Mapped[str | None] = mapped_column(String(255))
    phone_index: Mapped[str | None] = mapped_column(String(64), index=True)
    verification: Mapped[VerificationLevel] = mapped_column(
        str_enum(VerificationLevel, "verification_level"),
        default=VerificationLevel.SELF_DECLARED,
    )
    verified_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()
    children: Mapped[list[Child]] = relationship(
        back_populates="guardian", order_by="Child.id"
    )


class Child(TimestampMixin, Base):
    """A child a guardian registers; the ID number binds to one guardian account only."""

    __tablename__ = "children"

    id: Mapped[int] = mapped_column(primary_key=True)
    guardian_id: Mapped[int] = mapped_column(ForeignKey("guardians.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    document_type: Mapped[DocumentType] = mapped_column(
        str_enum(DocumentType, "child_document_type")
    )
    id_number_enc: Mapped[str | None] = mapped_column(String(255))
    id_number_index: Mapped[str | None] = mapped_column(String(64), unique=True)
    birth_date: Mapped[dt.date]
    sex: Mapped[Sex] = mapped_column(str_enum(Sex, "child_sex"))
    hukou_region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    hukou_address: Mapped[str] = mapped_column(String(200), default="")
    residence_region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    residence_address: Mapped[str] = mapped_column(String(200), default="")
    # 随迁子女: residence permit (number encrypted inside), e.g. {"number_enc", "issued_on"}.
    residence_permit: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Special groups, e.g. ["migrant", "disability", "military_child"].
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    # 残疾儿童: {"placement_wish": "regular_class" | "special_school" | "home_teaching", ...}.
    disability: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    guardian: Mapped[Guardian] = relationship(back_populates="children")
    hukou_region: Mapped[Region] = relationship(foreign_keys=[hukou_region_id])
    residence_region: Mapped[Region | None] = relationship(foreign_keys=[residence_region_id])


class DisputeStatus(enum.Enum):
    """A binding dispute is open until the bureau resolves it."""

    OPEN = "open"
    TRANSFERRED = "transferred"
    REJECTED = "rejected"


class IdentityDispute(TimestampMixin, Base):
    """A request to the bureau: "this ID number is bound to an account that is not mine"."""

    __tablename__ = "identity_disputes"
    __table_args__ = (
        CheckConstraint(
            "(status = 'open') = (resolved_at IS NULL)", name="resolved_iff_closed"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    authority_id: Mapped[int] = mapped_column(ForeignKey("education_authorities.id"), index=True)
    requester_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    guardian_id: Mapped[int] = mapped_column(ForeignKey("guardians.id"), index=True)
    claimed_name: Mapped[str] = mapped_column(String(64))
    contact_phone_enc: Mapped[str | None] = mapped_column(String(255))
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[DisputeStatus] = mapped_column(
        str_enum(DisputeStatus, "dispute_status"), default=DisputeStatus.OPEN
    )
    resolution_note: Mapped[str | None] = mapped_column(Text)
    resolved_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[dt.datetime | None]

    guardian: Mapped[Guardian] = relationship()


class FaceVerification(TimestampMixin, Base):
    """One WeChat 人脸核身 session (verify_id ↔ our out_seq_no) for a guardian."""

    __tablename__ = "face_verifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    guardian_id: Mapped[int] = mapped_column(ForeignKey("guardians.id"), index=True)
    out_seq_no: Mapped[str] = mapped_column(String(32), unique=True)
    verify_id: Mapped[str] = mapped_column(String(256), unique=True)
    result_code: Mapped[int | None]
    completed_at: Mapped[dt.datetime | None]
