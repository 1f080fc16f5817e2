"""Request and response models of the admission API (names masked, ids pseudonymous)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.identity.schemas import CategoryName

OfferStatusName = Literal["offered", "confirmed", "declined", "expired", "withdrawn"]
OfferSourceName = Literal["lottery", "waitlist", "bureau_placement"]
LotteryStatusName = Literal["frozen", "drawn", "settled", "cancelled"]

OFFER_STATUS_NAMES = {"offered": "待确认", "confirmed": "已确认", "declined": "已放弃",
                      "expired": "逾期未确认", "withdrawn": "已撤销"}
LOTTERY_STATUS_NAMES = {"frozen": "名单已冻结，待开奖", "drawn": "已派位",
                        "settled": "未超计划，全部录取", "cancelled": "已撤销"}
PRACTICE_LABEL = "演练（非正式结果）"
OFFER_SOURCE_NAMES = {"lottery": "随机派位", "waitlist": "候补递补",
                      "bureau_placement": "教育局统筹"}
# Where a waitlisted applicant stands: still waiting, offered a seat from the waitlist (and
# what the family did), placed at another school, or out of the running.
WAITLIST_STATE_NAMES = {"waiting": "候补中", "offered": "已递补·待确认",
                        "confirmed": "已递补·已确认", "declined": "已递补·已放弃",
                        "expired": "已递补·逾期未确认", "withdrawn": "已递补·已撤销",
                        "placed_elsewhere": "已在其他学校获得学位",
                        "inactive": "报名已撤回或失效"}
OFFER_PAGE_SIZE_MAX = 200


# --- inputs -------------------------------------------------------------------------------


class SeatPlanIn(BaseModel):
    """招生计划: classes × class size (the class size is capped by configuration)."""

    model_config = ConfigDict(extra="forbid")
    classes: int = Field(ge=1, le=40)
    class_size: int = Field(ge=1, le=56)


class TierRuleIn(BaseModel):
    """Conditions an applicant must all satisfy; none given matches everyone."""

    model_config = ConfigDict(extra="forbid")
    hukou_in_zone: bool | None = Field(default=None, description="户籍在本校片区内")
    residence_in_zone: bool | None = Field(
        default=None, description="实际居住地在本校片区内 (the household address if none given)")
    residence_permit: bool | None = Field(default=None, description="持有居住证（随迁子女）")
    out_of_zone: bool | None = Field(default=None, description="报名时为片区外（民办学校）")
    categories_any: list[CategoryName] | None = Field(
        default=None, min_length=1, max_length=9, description="属于其中任一特殊群体")

    def as_rule(self) -> dict[str, Any]:
        """The conditions that were set."""
        return self.model_dump(exclude_none=True)


class TierIn(BaseModel):
    """One tier, in priority order."""

    model_config = ConfigDict(extra="forbid")
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    label: str = Field(min_length=1, max_length=100)
    rule: TierRuleIn = Field(default_factory=TierRuleIn)


class TiersIn(BaseModel):
    """The school's whole ordered tier list for the season; the last one matches everyone."""

    model_config = ConfigDict(extra="forbid")
    tiers: list[TierIn] = Field(min_length=1, max_length=12)


class FreezeIn(BaseModel):
    """Freeze a school's applicant list and publish the commitment (or a practice run)."""

    model_config = ConfigDict(extra="forbid")
    season_id: int = Field(ge=1, le=2**31 - 1)
    school_id: int = Field(ge=1, le=2**31 - 1)
    public_value_source: str = Field(
        default="", max_length=200,
        description="the future public value that will seed the draw, named now, e.g. "
                    "“中国福利彩票双色球 2025年8月12日 第2025092期开奖号码”; required when "
                    "the school is oversubscribed")
    practice: bool = Field(default=False,
                           description="演练: never published, never offers or notifies")
    respond_by: dt.datetime | None = Field(
        default=None, description="deadline for admitted families to confirm (default: "
                                  "end of day, ADMISSION_RESPONSE_DAYS days after the draw)")


class LotteryDrawIn(BaseModel):
    """The public value, as published by its source."""

    model_config = ConfigDict(extra="forbid")
    public_value: str = Field(min_length=1, max_length=200)


class AdmissionReasonIn(BaseModel):
    """A reason, recorded and audited."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=2, max_length=500)


class OfferWithdrawIn(BaseModel):
    """Withdrawing a seat: the bureau gives a reason, a family may."""

    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, max_length=500)


class PlacementIn(BaseModel):
    """统筹: place an approved child not placed at a school with free seats."""

    model_config = ConfigDict(extra="forbid")
    registration_id: int = Field(ge=1, le=2**31 - 1)
    school_id: int = Field(ge=1, le=2**31 - 1)
    reason: str = Field(min_length=2, max_length=500)
    respond_by: dt.datetime | None = None


class OfferExpireIn(BaseModel):
    """Expire the season's overdue offers (optionally one school's)."""

    model_config = ConfigDict(extra="forbid")
    season_id: int = Field(ge=1, le=2**31 - 1)
    school_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class PublishListIn(BaseModel):
    """Publish a school's admitted list for a season."""

    model_config = ConfigDict(extra="forbid")
    season_id: int = Field(ge=1, le=2**31 - 1)
    school_id: int = Field(ge=1, le=2**31 - 1)


class LookupIn(BaseModel):
    """Admitted? — the last four characters of the child's ID number and the birth date."""

    model_config = ConfigDict(extra="forbid")
    season_id: int = Field(ge=1, le=2**31 - 1)
    school_code: str = Field(min_length=1, max_length=32)
    id_last4: str = Field(pattern=r"^[0-9]{3}[0-9Xx]$")
    birth_date: dt.date


class AdmissionSeasonQuery(BaseModel):
    """A season of the caller's authority."""

    model_config = ConfigDict(extra="forbid")
    season_id: int = Field(ge=1, le=2**31 - 1)


class LotteryQuery(BaseModel):
    """Lotteries of a season, optionally one school."""

    model_config = ConfigDict(extra="forbid")
    season_id: int = Field(ge=1, le=2**31 - 1)
    school_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class PublicLotteryQuery(BaseModel):
    """Published lotteries of a season, optionally one school by code."""

    model_config = ConfigDict(extra="forbid")
    season_id: int = Field(ge=1, le=2**31 - 1)
    school: str | None = Field(default=None, max_length=32, description="school code")


class OfferQuery(BaseModel):
    """Offers of a season in the caller's scope, a page at a time."""

    model_config = ConfigDict(extra="forbid")
    season_id: int = Field(ge=1, le=2**31 - 1)
    school_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    status: OfferStatusName | None = None
    overdue: bool | None = Field(
        default=None, description="true: only offers still open past their deadline")
    page: int = Field(default=1, ge=1, le=100_000)
    page_size: int = Field(default=50, ge=1, le=OFFER_PAGE_SIZE_MAX)


class UnplacedQuery(BaseModel):
    """Approved children without a seat, a page at a time, optionally of one school."""

    model_config = ConfigDict(extra="forbid")
    season_id: int = Field(ge=1, le=2**31 - 1)
    school_id: int | None = Field(default=None, ge=1, le=2**31 - 1,
                                  description="the school applied to")
    page: int = Field(default=1, ge=1, le=100_000)
    page_size: int = Field(default=50, ge=1, le=OFFER_PAGE_SIZE_MAX)


class WaitlistQuery(BaseModel):
    """One school's waitlist in a season."""

    model_config = ConfigDict(extra="forbid")
    season_id: int = Field(ge=1, le=2**31 - 1)
    school_id: int = Field(ge=1, le=2**31 - 1)


class RegistryQuery(BaseModel):
    """The student-registry export: a season, optionally one school."""

    model_config = ConfigDict(extra="forbid")
    season_id: int = Field(ge=1, le=2**31 - 1)
    school_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class AdmittedListQuery(BaseModel):
    """A published admitted list."""

    model_config = ConfigDict(extra="forbid")
    season_id: int = Field(ge=1, le=2**31 - 1)


# --- outputs ------------------------------------------------------------------------------


class AdmissionSchoolRef(BaseModel):
    """A school by id, code and name."""

    id: int
    code: str
    name: str


class AdmissionSeatPlanOut(BaseModel):
    """A school's plan and how many seats live offers hold."""

    school: AdmissionSchoolRef
    season_id: int
    classes: int | None
    class_size: int | None
    seats: int | None
    taken: int
    free: int | None
    class_size_cap: int
    lottery_pending: bool = Field(
        default=False, description="a real lottery is frozen and not drawn: its free seats "
                                   "are committed to the draw (no placement meanwhile)")


class AdmissionSeatPlanList(BaseModel):
    """Every school of the authority."""

    items: list[AdmissionSeatPlanOut]


class TierOut(BaseModel):
    """One tier: rank 1 is served first."""

    rank: int
    key: str
    label: str
    rule: dict[str, Any]


class TiersOut(BaseModel):
    """A school's ordered tiers for a season."""

    season_id: int
    school: AdmissionSchoolRef
    configured: bool = Field(description="false: the default tiers apply")
    tiers: list[TierOut]


class LotteryResultRow(BaseModel):
    """One applicant in the published result (or the committed list before the draw)."""

    position: int | None
    pseudonym: str
    tier: int
    lottery_number: str | None
    outcome: Literal["admitted", "waitlisted"] | None
    masked_name: str


class LotteryOut(BaseModel):
    """A lottery's public facts."""

    id: int
    practice: bool
    practice_label: str | None = Field(description="set on every practice run")
    status: LotteryStatusName
    status_name: str
    school: AdmissionSchoolRef
    season_id: int
    algorithm_version: str
    seats: int
    applicant_count: int
    oversubscribed: bool
    commitment: str
    public_value_source: str
    public_value: str | None
    seed: str | None
    frozen_at: str
    drawn_at: str | None
    published_at: str | None
    respond_by: str | None
    admitted_count: int
    waitlist_count: int
    cancel_reason: str | None
    evidence_url: str


class LotteryDetail(LotteryOut):
    """A lottery with its tiers and ordered result."""

    tiers: list[TierOut]
    result: list[LotteryResultRow]


class LotteryList(BaseModel):
    """Lotteries, practice runs marked."""

    items: list[LotteryOut]


class OfferOut(BaseModel):
    """An offer of a seat."""

    id: int
    registration_id: int
    school: AdmissionSchoolRef
    child_name: str = Field(description="masked for staff")
    pseudonym: str
    source: OfferSourceName
    source_name: str
    status: OfferStatusName
    status_name: str
    respond_by: str | None
    overdue: bool = Field(description="still open (offered) past its deadline: the next "
                                      "expiry run gives the seat to the waitlist")
    decided_at: str | None
    lottery_id: int | None
    placement_reason: str | None
    actions: list[Literal["confirm", "decline", "withdraw"]]


class OfferList(BaseModel):
    """Offers."""

    items: list[OfferOut]


class OfferPage(OfferList):
    """A page of the staff's offer list, with the number of matching offers."""

    total: int
    page: int
    page_size: int


class WaitlistRow(BaseModel):
    """One waitlisted applicant of a school's drawn lottery, in waitlist order."""

    waitlist_position: int
    position: int
    pseudonym: str
    masked_name: str
    tier: int
    registration_id: int
    state: Literal["waiting", "offered", "confirmed", "declined", "expired", "withdrawn",
                   "placed_elsewhere", "inactive"]
    state_name: str
    offer_id: int | None = Field(description="the seat offered from the waitlist, if any")
    respond_by: str | None


class WaitlistOut(BaseModel):
    """A school's waitlist: who is next when a seat is given back."""

    school: AdmissionSchoolRef
    season_id: int
    lottery_id: int | None = Field(description="the school's drawn real lottery; none: "
                                               "no waitlist (not drawn, or settled)")
    seats: int | None
    taken: int
    free: int | None
    waiting: int = Field(description="applicants still waiting for a seat")
    items: list[WaitlistRow]


class LotterySchoolOut(BaseModel):
    """Where a school stands before and after its lottery (the console's step guide)."""

    school: AdmissionSchoolRef
    seats: int | None
    taken: int
    free: int | None
    applicants: int = Field(description="approved registrations whose child holds no seat: "
                                        "the list a freeze would commit to now")
    pending_review: int = Field(description="registrations still in review; a real freeze "
                                            "waits for none")
    oversubscribed: bool
    lottery: LotteryOut | None = Field(description="the school's real lottery (not cancelled)")
    practice_runs: int


class LotterySchoolList(BaseModel):
    """Every school in scope, and whether the registration window is closed."""

    season_id: int
    registration_closed: bool
    items: list[LotterySchoolOut]


class FamilyLotteryOut(BaseModel):
    """The family's place in one published lottery."""

    lottery_id: int
    school: AdmissionSchoolRef
    status: LotteryStatusName
    commitment: str
    in_committed_list: bool
    tier: int
    position: int | None
    outcome: Literal["admitted", "waitlisted"] | None
    waitlist_position: int | None
    lottery_number: str | None
    evidence_url: str


class FamilyAdmissionOut(BaseModel):
    """What a family sees of its admission: its pseudonymous id, lotteries and offers."""

    registration_id: int
    pseudonym: str = Field(description="the applicant id used in every published list")
    lotteries: list[FamilyLotteryOut]
    offers: list[OfferOut]


class UnplacedOut(BaseModel):
    """An approved child without a seat."""

    registration_id: int
    school: AdmissionSchoolRef
    child_name: str
    pseudonym: str
    in_pending_lottery: bool


class UnplacedList(BaseModel):
    """Approved children without a live offer in the season."""

    items: list[UnplacedOut]
    total: int = 0
    page: int = 1
    page_size: int = 50


class OfferExpireOut(BaseModel):
    """How many offers expired."""

    expired: int


class PublicationOut(BaseModel):
    """A published admitted list."""

    season_id: int
    school: AdmissionSchoolRef
    published_at: str


class ListStatusOut(BaseModel):
    """A school's admitted list: how many have confirmed, and whether it is published."""

    school: AdmissionSchoolRef
    seats: int | None
    confirmed: int
    offered: int = Field(description="offers still waiting for the family's answer")
    published_at: str | None
    public_list_url: str
    public_page_url: str = Field(description="the public page with the list and the look-up")


class ListStatusList(BaseModel):
    """Every school in scope."""

    season_id: int
    items: list[ListStatusOut]


class AdmittedRow(BaseModel):
    """One admitted child, masked."""

    pseudonym: str
    masked_name: str
    source: OfferSourceName


class AdmittedListOut(BaseModel):
    """A school's published admitted list."""

    school: AdmissionSchoolRef
    season_id: int
    season_name: str
    published_at: str
    total: int
    items: list[AdmittedRow]


class LookupOut(BaseModel):
    """Yes or no, nothing else."""

    admitted: bool
    message: str
