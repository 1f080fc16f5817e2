"""Request and response models of the identity API (every personal value masked on the way out)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DocumentTypeName = Literal[
    "resident_id", "hmt_residence_permit", "hk_macau_permit", "taiwan_permit",
    "foreign_passport", "foreign_permanent_residence",
]
RelationName = Literal["father", "mother", "grandparent", "other_guardian"]
SexName = Literal["male", "female"]
CategoryName = Literal[
    "migrant", "disability", "martyr_child", "military_child", "police_hero_child",
    "other_entitled", "overseas_chinese", "hmt", "international",
]
PlacementWish = Literal["regular_class", "special_school", "home_teaching"]

# Names: Chinese characters (with the middle dot of minority names) or Latin letters.
NAME_PATTERN = r"^[\u3400-\u9fff·•A-Za-z][\u3400-\u9fff·• A-Za-z]{0,29}$"


class IdentityIn(BaseModel):
    """Real-name binding of the guardian."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=2, max_length=30, pattern=NAME_PATTERN)
    id_number: str = Field(min_length=5, max_length=32)
    document_type: DocumentTypeName = "resident_id"
    relation: RelationName = "other_guardian"
    phone_code: str | None = Field(
        default=None, max_length=128, description="code from <button open-type=getPhoneNumber>"
    )


class GuardianOut(BaseModel):
    """The guardian's binding, masked."""

    name: str
    document_type: DocumentTypeName
    id_number: str = Field(description="masked, e.g. 142333********1234")
    relation: RelationName
    phone: str | None = Field(description="masked, e.g. 138****5678")
    verification: Literal["self_declared", "face_verified"]
    verified_at: str | None


class DisputeIn(BaseModel):
    """"This ID number is bound to an account that is not mine": ask the bureau."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=2, max_length=30, pattern=NAME_PATTERN)
    id_number: str = Field(min_length=5, max_length=32)
    document_type: DocumentTypeName = "resident_id"
    phone_code: str | None = Field(default=None, max_length=128)
    note: str = Field(default="", max_length=500)
    authority: str | None = Field(default=None, max_length=32)


class DisputeOut(BaseModel):
    """A binding dispute as its requester or an admin sees it (masked)."""

    id: int
    status: Literal["open", "transferred", "rejected"]
    claimed_name: str
    id_number: str
    contact_phone: str | None
    note: str
    resolution_note: str | None
    created_at: str
    resolved_at: str | None
    requester_user_id: int
    bound_user_id: int


class DisputeAdminOut(DisputeOut):
    """A dispute as the bureau sees it: also the account it is bound to now (masked), so
    the two can be compared, and what a transfer would move."""

    bound_name: str = Field(description="the bound guardian's name, masked, e.g. 张*明")
    bound_phone: str | None = Field(description="the bound guardian's phone, masked")
    children: int = Field(description="children of the bound guardian (they move too)")
    requester_bound: bool = Field(
        description="the requester's account already has a binding (a transfer is refused)")
    resolved_by_user_id: int | None


class DisputeList(BaseModel):
    """A page of one authority's disputes, newest first."""

    items: list[DisputeAdminOut]
    total: int
    page: int
    page_size: int


class DisputeQuery(BaseModel):
    """Filter disputes by status; which page."""

    model_config = ConfigDict(extra="forbid")
    status: Literal["open", "transferred", "rejected"] | None = None
    page: int = Field(default=1, ge=1, le=100_000)
    page_size: int = Field(default=20, ge=1, le=100)


class DisputeResolveIn(BaseModel):
    """The bureau's decision: move the binding to the requester, or reject."""

    model_config = ConfigDict(extra="forbid")
    decision: Literal["transfer", "reject"]
    note: str = Field(min_length=2, max_length=500)


class AddressIn(BaseModel):
    """A village/community code from GET /api/v1/regions plus the street detail."""

    model_config = ConfigDict(extra="forbid")
    region_code: str = Field(min_length=1, max_length=32)
    address: str = Field(default="", max_length=200)


class ResidencePermitIn(BaseModel):
    """居住证 of a migrant child's family."""

    model_config = ConfigDict(extra="forbid")
    number: str = Field(min_length=4, max_length=32)
    issued_on: dt.date
    expires_on: dt.date | None = None
    issuing_city: str = Field(default="", max_length=50)


class DisabilityIn(BaseModel):
    """A disabled child's assessment and the family's wish."""

    model_config = ConfigDict(extra="forbid")
    placement_wish: PlacementWish
    certificate_number: str | None = Field(
        default=None, max_length=32,
        description="PATCH /me/children/{id}: left out, the number registered before is kept")
    note: str = Field(default="", max_length=300)


class ChildIn(BaseModel):
    """A child to add; birth date and sex come from a resident ID number."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=2, max_length=30, pattern=NAME_PATTERN)
    id_number: str = Field(min_length=5, max_length=32)
    document_type: DocumentTypeName = "resident_id"
    birth_date: dt.date | None = Field(default=None, description="only for other documents")
    sex: SexName | None = Field(default=None, description="only for other documents")
    hukou: AddressIn
    residence: AddressIn | None = None
    residence_permit: ResidencePermitIn | None = None
    categories: list[CategoryName] = Field(default_factory=list, max_length=9)
    disability: DisabilityIn | None = None


class GuardianConsentIn(BaseModel):
    """The guardian ticked 我已阅读并同意 under the consent text of this version."""

    model_config = ConfigDict(extra="forbid")
    version: str = Field(min_length=1, max_length=32,
                         description="the version of GET /privacy/consent-text shown")
    agreed: bool = Field(description="must be true: the guardian agreed")


class ChildAddIn(ChildIn):
    """A child to add, with the guardian's consent to processing its personal information
    (《个人信息保护法》第三十一条): without it, or to an older text, nothing is saved."""

    guardian_consent: GuardianConsentIn


ConsentChannelName = Literal["mini_program", "pc", "counter", "legacy"]


class ConsentOut(BaseModel):
    """The guardian's recorded consent for one child."""

    child_id: int
    version: str = Field(description="version of the consent text; legacy: the child was "
                                     "added before consents were recorded")
    agreed_at: str | None = Field(description="Beijing time; null for legacy records")
    channel: ConsentChannelName = Field(
        description="mini_program, pc, counter (given in person at the school) or legacy")


class ConsentTextOut(BaseModel):
    """The consent text a guardian agrees to before a child's data is saved."""

    version: str
    title: str
    text: str
    purge_personal_data_after: dt.date | None = Field(
        description="the current season's purge date (null when not set yet)")


class ChildPatch(BaseModel):
    """Fields a guardian may change (the ID number cannot change)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=2, max_length=30, pattern=NAME_PATTERN)
    hukou: AddressIn | None = None
    residence: AddressIn | None = None
    residence_permit: ResidencePermitIn | None = None
    categories: list[CategoryName] | None = Field(default=None, max_length=9)
    disability: DisabilityIn | None = None


class RegionOut(BaseModel):
    """A region with its town."""

    code: str
    name: str
    town: str | None


class AddressOut(BaseModel):
    """An address as chosen from the region list."""

    region: RegionOut
    address: str


class EligibilityOut(BaseModel):
    """Age eligibility for the current season, explained."""

    eligible: bool | None
    reason: str
    season_year: int | None
    age_cutoff: dt.date | None


class RequiredDocumentOut(BaseModel):
    """A document a category needs."""

    kind: str
    name: str


class ChildOut(BaseModel):
    """A child as the guardian sees it (ID masked)."""

    id: int
    name: str
    document_type: DocumentTypeName
    id_number: str = Field(description="masked")
    birth_date: dt.date
    sex: SexName
    hukou: AddressOut
    residence: AddressOut | None
    residence_permit: dict[str, str | None] | None
    categories: list[CategoryName]
    disability: dict[str, str | None] | None
    required_documents: list[RequiredDocumentOut]
    eligibility: EligibilityOut


class ChildList(BaseModel):
    """The guardian's children."""

    items: list[ChildOut]


class RevealIn(BaseModel):
    """Why a staff member needs the full record (written to the audit log)."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=2, max_length=200)


class RevealOut(BaseModel):
    """The full record, for one staff member, once, audited."""

    child_id: int
    child_name: str
    child_id_number: str | None
    guardian_name: str
    guardian_id_number: str | None
    guardian_phone: str | None


class FaceStartOut(BaseModel):
    """Pass verify_id to wx.requestFacialVerify()."""

    verify_id: str
    expires_in: int


class FaceCompleteIn(BaseModel):
    """The verify_id whose face check the phone finished."""

    model_config = ConfigDict(extra="forbid")
    verify_id: str = Field(min_length=1, max_length=256)


class CategoryOut(BaseModel):
    """A special group and the documents it needs."""

    key: str
    name: str
    required_documents: list[RequiredDocumentOut]


class CategoryList(BaseModel):
    """Special groups, disability placement wishes and document kinds."""

    categories: list[CategoryOut]
    placement_wishes: dict[str, str]
    document_kinds: dict[str, str]
