"""Admission models → response models (names masked, times local, practice runs marked)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from flask import current_app

from backend.accounts.models import Role, User
from backend.admission import lottery as algo
from backend.admission.lotteries import ordered_entries
from backend.admission.models import (
    EntryOutcome,
    Lottery,
    LotteryEntry,
    LotteryStatus,
    Offer,
    OfferStatus,
    SeatCount,
)
from backend.admission.schemas import (
    LOTTERY_STATUS_NAMES,
    OFFER_SOURCE_NAMES,
    OFFER_STATUS_NAMES,
    PRACTICE_LABEL,
    WAITLIST_STATE_NAMES,
    AdmissionSchoolRef,
    AdmissionSeatPlanOut,
    FamilyAdmissionOut,
    FamilyLotteryOut,
    ListStatusList,
    ListStatusOut,
    LotteryDetail,
    LotteryOut,
    LotteryResultRow,
    LotterySchoolList,
    LotterySchoolOut,
    OfferOut,
    TierOut,
    WaitlistOut,
    WaitlistRow,
)
from backend.admission.services import pseudonym
from backend.core.db import utcnow
from backend.core.pii import mask_name
from backend.core.timeutil import local_iso
from backend.schools.models import School, SeatPlan


def school_ref(school: School) -> AdmissionSchoolRef:
    """A school by id, code and name."""
    return AdmissionSchoolRef(id=school.id, code=school.code, name=school.name)


def seat_plan_out(school: School, season_id: int, plan: SeatPlan | None,
                  taken: int, *, lottery_pending: bool = False) -> AdmissionSeatPlanOut:
    """A school's plan with the seats taken."""
    seats = plan.seats if plan else None
    return AdmissionSeatPlanOut(school=school_ref(school), season_id=season_id,
                       classes=plan.classes if plan else None,
                       class_size=plan.class_size if plan else None, seats=seats, taken=taken,
                       free=None if seats is None else seats - taken,
                       class_size_cap=int(current_app.config["ADMISSION_CLASS_SIZE_CAP"]),
                       lottery_pending=lottery_pending)


def counter_out(school: School, plan: SeatPlan, counter: SeatCount) -> AdmissionSeatPlanOut:
    """The plan just set."""
    return seat_plan_out(school, plan.season_id, plan, counter.taken)


def _evidence_url(lottery: Lottery, admin: bool) -> str:
    prefix = "/api/v1/admin/lotteries" if admin else "/api/v1/lotteries"
    return f"{prefix}/{lottery.id}/evidence.json"


def lottery_out(lottery: Lottery, *, admin: bool = False) -> LotteryOut:
    """A lottery's public facts (practice runs carry their label)."""
    return LotteryOut(**_lottery_fields(lottery, admin))


def _lottery_fields(lottery: Lottery, admin: bool) -> dict[str, Any]:
    zone_name = lottery.school.authority.timezone
    admitted = sum(1 for e in lottery.entries if e.outcome is EntryOutcome.ADMITTED)
    waitlisted = sum(1 for e in lottery.entries if e.outcome is EntryOutcome.WAITLISTED)
    return {
        "id": lottery.id, "practice": lottery.is_practice,
        "practice_label": PRACTICE_LABEL if lottery.is_practice else None,
        "status": lottery.status.value,
        "status_name": (("【演练】" if lottery.is_practice else "")
                        + LOTTERY_STATUS_NAMES[lottery.status.value]),
        "school": school_ref(lottery.school), "season_id": lottery.season_id,
        "algorithm_version": lottery.algorithm_version, "seats": lottery.seats,
        "applicant_count": lottery.applicant_count,
        "oversubscribed": algo.oversubscribed(lottery.applicant_count, lottery.seats),
        "commitment": lottery.commitment, "public_value_source": lottery.public_value_source,
        "public_value": lottery.public_value, "seed": lottery.seed,
        "frozen_at": local_iso(lottery.frozen_at, zone_name),
        "drawn_at": local_iso(lottery.drawn_at, zone_name),
        "published_at": local_iso(lottery.published_at, zone_name),
        "respond_by": local_iso(lottery.respond_by, zone_name),
        "admitted_count": admitted, "waitlist_count": waitlisted,
        "cancel_reason": lottery.cancel_reason,
        "evidence_url": _evidence_url(lottery, admin or lottery.is_practice),
    }


def _row(lottery: Lottery, entry: LotteryEntry) -> LotteryResultRow:
    drawn = lottery.status is LotteryStatus.DRAWN and lottery.seed is not None
    return LotteryResultRow(
        position=entry.position, pseudonym=entry.pseudonym, tier=entry.tier,
        lottery_number=algo.lottery_number(lottery.seed, entry.pseudonym)
        if drawn and lottery.seed else None,
        outcome=entry.outcome.value if entry.outcome else None,
        masked_name=entry.masked_name)


def lottery_detail(lottery: Lottery, *, admin: bool = False) -> LotteryDetail:
    """A lottery with its committed tiers and its ordered result."""
    tiers = [TierOut(**t) for t in lottery.committed.get("tiers", [])]
    return LotteryDetail(**_lottery_fields(lottery, admin), tiers=tiers,
                         result=[_row(lottery, e) for e in ordered_entries(lottery)])


def _actions(offer: Offer, viewer: User) -> list[Any]:
    if viewer.role is Role.PARENT:
        if offer.status is OfferStatus.OFFERED:
            return ["confirm", "decline"]
        if offer.status is OfferStatus.CONFIRMED:
            return ["withdraw"]
        return []
    if viewer.role is Role.BUREAU_ADMIN and offer.is_live:
        return ["withdraw"]
    return []


def offer_out(offer: Offer, viewer: User, now: dt.datetime | None = None) -> OfferOut:
    """An offer as the viewer may see it (families see their child's own name)."""
    now = now or utcnow()
    zone_name = offer.school.authority.timezone
    name = offer.child.name if viewer.role is Role.PARENT else mask_name(offer.child.name)
    return OfferOut(
        id=offer.id, registration_id=offer.registration_id, school=school_ref(offer.school),
        child_name=name, pseudonym=pseudonym(offer.season_id, offer.child_id),
        source=offer.source.value, source_name=OFFER_SOURCE_NAMES[offer.source.value],
        status=offer.status.value,
        status_name=OFFER_STATUS_NAMES[offer.status.value],
        respond_by=local_iso(offer.respond_by, zone_name),
        overdue=(offer.status is OfferStatus.OFFERED and offer.respond_by is not None
                 and offer.respond_by < now),
        decided_at=local_iso(offer.decided_at, zone_name), lottery_id=offer.lottery_id,
        placement_reason=offer.placement_reason if viewer.role is not Role.PARENT else None,
        actions=_actions(offer, viewer))


def family_admission_out(view: dict[str, Any], viewer: User) -> FamilyAdmissionOut:
    """The family's pseudonymous id, each published lottery it is in, and its offers."""
    lotteries = []
    for entry, lottery in view["entries"]:
        drawn = lottery.status is LotteryStatus.DRAWN and lottery.seed
        committed = {p for p, _t in lottery.committed.get("applicants", [])}
        lotteries.append(FamilyLotteryOut(
            lottery_id=lottery.id, school=school_ref(lottery.school),
            status=lottery.status.value, commitment=lottery.commitment,
            in_committed_list=entry.pseudonym in committed, tier=entry.tier,
            position=entry.position,
            outcome=entry.outcome.value if entry.outcome else None,
            waitlist_position=(entry.position - lottery.seats
                               if entry.outcome is EntryOutcome.WAITLISTED and entry.position
                               else None),
            lottery_number=algo.lottery_number(lottery.seed, entry.pseudonym)
            if drawn and lottery.seed else None,
            evidence_url=_evidence_url(lottery, False)))
    return FamilyAdmissionOut(registration_id=view["registration"].id,
                              pseudonym=view["pseudonym"], lotteries=lotteries,
                              offers=[offer_out(o, viewer) for o in view["offers"]])


def waitlist_out(data: tuple[Any, Any, tuple[int | None, int], list[Any]],
                 season_id: int) -> WaitlistOut:
    """A school's waitlist in order, each applicant with where it stands."""
    school, lottery, (seats, taken), rows = data
    zone_name = school.authority.timezone
    items = [WaitlistRow(
        waitlist_position=(entry.position or 0) - lottery.seats, position=entry.position or 0,
        pseudonym=entry.pseudonym, masked_name=entry.masked_name, tier=entry.tier,
        registration_id=entry.registration_id, state=state,
        state_name=WAITLIST_STATE_NAMES[state], offer_id=offer.id if offer else None,
        respond_by=local_iso(offer.respond_by, zone_name) if offer else None)
        for entry, offer, state in rows]
    return WaitlistOut(school=school_ref(school), season_id=season_id,
                       lottery_id=lottery.id if lottery else None, seats=seats, taken=taken,
                       free=None if seats is None else seats - taken,
                       waiting=sum(1 for row in items if row.state == "waiting"), items=items)


def lottery_schools_out(data: dict[str, Any]) -> LotterySchoolList:
    """Each school's lottery readiness (the console's step guide)."""
    return LotterySchoolList(
        season_id=data["season"].id, registration_closed=data["registration_closed"],
        items=[LotterySchoolOut(
            school=school_ref(row["school"]), seats=row["seats"], taken=row["taken"],
            free=row["free"], applicants=row["applicants"],
            pending_review=row["pending_review"], oversubscribed=row["oversubscribed"],
            lottery=lottery_out(row["lottery"], admin=True) if row["lottery"] else None,
            practice_runs=row["practice_runs"]) for row in data["items"]])


def list_status_out(data: dict[str, Any]) -> ListStatusList:
    """Each school's admitted list: counts, publication time and the public addresses."""
    season = data["season"]
    items = []
    for row in data["items"]:
        school = row["school"]
        code = quote(school.code, safe="")
        items.append(ListStatusOut(
            school=school_ref(school), seats=row["seats"], confirmed=row["confirmed"],
            offered=row["offered"],
            published_at=local_iso(row["published_at"], school.authority.timezone),
            public_list_url=f"/api/v1/admitted-lists/{code}?season_id={season.id}",
            public_page_url=f"/portal/admitted/{code}?season_id={season.id}"))
    return ListStatusList(season_id=season.id, items=items)
