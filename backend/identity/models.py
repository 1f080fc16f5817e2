"""Guardians (real-name binding), their children, and binding disputes."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.accounts.models import User
from backend.core.db import Base, TimestampMixin, utcnow
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


class ConsentChannel(enum.Enum):
    """Where the guardian gave the consent to process a child's personal information."""

    MINI_PROGRAM = "mini_program"  # ticked in the mini-program before the child was saved
    PC = "pc"  # ticked on the PC site
    COUNTER = "counter"  # given in person at the school's counter (代报名), staff recorded it
    # Written only by migration 0013 for children added before consent was recorded.
    LEGACY = "legacy"


LEGACY_CONSENT_VERSION = "legacy"


class GuardianConsent(Base):
    """A guardian's consent to the processing of a child's personal information
    (《个人信息保护法》第三十一条: a child under 14 needs the guardian's consent): which
    version of the consent text, when, and through which channel. Every child points at
    its own consent (children.consent_id is NOT NULL), given by its own guardian."""

    __tablename__ = "guardian_consents"
    __table_args__ = (
        # The children's composite foreign key (consent_id, guardian_id) points here.
        UniqueConstraint("id", "guardian_id"),
        CheckConstraint("version <> ''", name="version_not_empty"),
        CheckConstraint("(channel = 'legacy') = (version = 'legacy')", name="legacy_version"),
        CheckConstraint("(channel = 'legacy') = (agreed_at IS NULL)",
                        name="agreed_unless_legacy"),
        CheckConstraint("(channel = 'counter') = (recorded_by_user_id IS NOT NULL)",
                        name="counter_names_staff"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    guardian_id: Mapped[int] = mapped_column(ForeignKey("guardians.id"), index=True)
    version: Mapped[str] = mapped_column(String(32))
    # NULL only for the legacy records: nobody agreed to anything then.
    agreed_at: Mapped[dt.datetime | None]
    channel: Mapped[ConsentChannel] = mapped_column(str_enum(ConsentChannel, "consent_channel"))
    # The staff member who recorded a consent given at the counter.
    recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Child(TimestampMixin, Base):
    """A child a guardian registers; the ID number binds to one guardian account only."""

    __tablename__ = "children"
    __table_args__ = (
        # The consent must be one the child's own guardian gave.
        ForeignKeyConstraint(["consent_id", "guardian_id"],
                             ["guardian_consents.id", "guardian_consents.guardian_id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    guardian_id: Mapped[int] = mapped_column(ForeignKey("guardians.id"), index=True)
    # The guardian's consent: no child without one (the database refuses it).
    consent_id: Mapped[int] = mapped_column(unique=True)
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
    consent: Mapped[GuardianConsent] = relationship(
        primaryjoin="Child.consent_id == GuardianConsent.id", foreign_keys=[consent_id])
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
