"""均衡分班: together requests, commit → draw → publish, the audited correction, evidence.

1. Staff record families' requests that twins/siblings (one guardian) share a class.
2. *Commit*: after check-in closes, the input is frozen — the admitted children (checked in,
   or every confirmed offer), each under a pseudonymous id with sex, birth month, special
   needs and request group, the seat plan's classes and class size, the rules version —
   with its SHA-256 and the name of the future public value that will seed the draw.
3. *Draw*: once that value is known, seed = SHA-256(commitment ‖ value) and the published
   rules (`assign.py`) give every class; the result is published at once: there is no
   preview and no second draw (one live assignment per school and season, a constraint).
4. After publication nothing changes except through `correct_placement` (bureau admins, with
   a reason code, audited); the evidence lists each correction and is marked corrected.

Pseudonymous ids here are their own: HMAC(index key, "classes.pseudonym", season:child),
not the lottery's. The class evidence publishes special needs, and the lottery evidence
publishes masked names next to its ids; separate ids keep the two from being joined.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import selectinload

from backend.accounts import scope as staff_scope
from backend.accounts.models import Role, User
from backend.admission.models import Offer, OfferStatus
from backend.audit.services import client_fingerprint, record_audit
from backend.classes import assign
from backend.classes.models import (
    AssignmentStatus,
    ClassAssignment,
    ClassCorrection,
    ClassPlacement,
    PupilScope,
    TogetherMember,
    TogetherRequest,
)
from backend.core import pii
from backend.core.db import db, utcnow
from backend.core.errors import ApiError
from backend.core.timeutil import local_iso
from backend.identity.models import Child
from backend.onsite.models import OnsiteBooking, OnsiteSlot
from backend.registrations.models import Registration
from backend.registrations.services import my_registration
from backend.schools.models import School, SeatPlan
from backend.seasons.models import Season

logger = logging.getLogger(__name__)

PLACEMENTS = cast(Table, ClassPlacement.__table__)

PSEUDONYM_PURPOSE = "classes.pseudonym"
PSEUDONYM_NOTE = ("编号为分班专用化名：HMAC-SHA256(平台索引密钥, 招生季:儿童)，与派位编号不同，"
                  "家长可在孩子的分班页面看到本人编号。")
# 随班就读: children of the disability category admitted to an ordinary school's class.
SPECIAL_NEEDS_CATEGORY = "disability"
CORRECTION_REASONS = {
    "left_school": "儿童放弃入学或转学",
    "placement_change": "随班就读安置调整",
    "together_request": "补登记的双胞胎/兄弟姐妹同班申请",
    "data_error": "性别、出生日期等信息有误",
    "other": "其他原因",
}


def pseudonym(season_id: int, child_id: int) -> str:
    """The child's id in class evidence: stable for the season, never the lottery's."""
    return "C" + pii.blind_index(f"{season_id}:{child_id}", PSEUDONYM_PURPOSE)[:16].upper()


def class_name(class_no: int) -> str:
    """一年级3班."""
    return f"一年级{class_no}班"


def evidence_path(assignment_id: int) -> str:
    """Where the public evidence is served."""
    return f"/api/v1/classes/assignments/{assignment_id}/evidence"


def _live(school_id: int, season_id: int) -> ClassAssignment | None:
    return db.session.scalar(select(ClassAssignment).where(
        ClassAssignment.school_id == school_id, ClassAssignment.season_id == season_id,
        ClassAssignment.status != AssignmentStatus.CANCELLED))


# --- together requests ---------------------------------------------------------------------


def create_together_request(user: User, *, season_id: int, school_code: str | None,
                            registration_ids: list[int], note: str,
                            address: str | None) -> TogetherRequest:
    """Record that a family asked for its twins/siblings to share a class (same guardian)."""
    school = staff_scope.school_or_own(user, school_code)
    season = staff_scope.season(user, season_id)
    if _live(school.id, season.id) is not None:
        raise ApiError(409, "ASSIGNMENT_FROZEN", "分班名单已锁定，不能再登记同班申请")
    offers = list(db.session.scalars(
        select(Offer).where(Offer.registration_id.in_(registration_ids),
                            Offer.school_id == school.id, Offer.season_id == season.id,
                            Offer.status == OfferStatus.CONFIRMED)
        .options(selectinload(Offer.child))))
    if len({o.registration_id for o in offers}) != len(registration_ids):
        raise ApiError(404, "ADMITTED_REGISTRATION_NOT_FOUND",
                       "有儿童不是本校本季已确认录取的儿童")
    # Siblings are children of one guardian account; nothing else is grouped.
    if len({o.child.guardian_id for o in offers}) != 1:
        raise ApiError(422, "NOT_SIBLINGS", "只能为同一监护人的子女（双胞胎或兄弟姐妹）申请同班")
    if db.session.scalar(select(TogetherMember.registration_id).where(
            TogetherMember.registration_id.in_(registration_ids)).limit(1)):
        raise ApiError(409, "ALREADY_REQUESTED", "其中有儿童已在其他同班申请中")
    request = TogetherRequest(school_id=school.id, season_id=season.id, note=note.strip(),
                              created_by_user_id=user.id)
    request.members = [TogetherMember(registration_id=rid) for rid in sorted(registration_ids)]
    db.session.add(request)
    db.session.flush()
    record_audit(db.session, action="classes.together_request", actor_user_id=user.id,
                 actor_role=user.role.value, object_type="class_together_request",
                 object_id=request.id, client_fingerprint=client_fingerprint(address),
                 details={"registration_ids": sorted(registration_ids)})
    return request


def together_requests(user: User, season_id: int,
                      school_code: str | None) -> tuple[School, list[TogetherRequest]]:
    """A school's together requests in a season."""
    school = staff_scope.school_or_own(user, school_code)
    season = staff_scope.season(user, season_id)
    return school, list(db.session.scalars(
        select(TogetherRequest).where(TogetherRequest.school_id == school.id,
                                      TogetherRequest.season_id == season.id)
        .options(selectinload(TogetherRequest.members).selectinload(TogetherMember.registration)
                 .selectinload(Registration.child))
        .order_by(TogetherRequest.id)))


def delete_together_request(user: User, request_id: int, address: str | None) -> None:
    """Withdraw a request before the input is frozen."""
    request = db.session.get(TogetherRequest, request_id)
    if request is None or not staff_scope.may_see_school(user, request.school):
        raise ApiError(404, "TOGETHER_REQUEST_NOT_FOUND", "未找到该同班申请")
    if _live(request.school_id, request.season_id) is not None:
        raise ApiError(409, "ASSIGNMENT_FROZEN", "分班名单已锁定，不能再修改同班申请")
    record_audit(db.session, action="classes.together_request_delete", actor_user_id=user.id,
                 actor_role=user.role.value, object_type="class_together_request",
                 object_id=request.id, client_fingerprint=client_fingerprint(address))
    db.session.delete(request)


# --- commit, draw, cancel ------------------------------------------------------------------


def _group_labels(school_id: int, season_id: int,
                  present: dict[int, str]) -> dict[int, str]:
    """registration id → a neutral group label (G1, G2 … by smallest pseudonym)."""
    groups: list[list[int]] = []
    for request in db.session.scalars(
            select(TogetherRequest).where(TogetherRequest.school_id == school_id,
                                          TogetherRequest.season_id == season_id)
            .options(selectinload(TogetherRequest.members))):
        members = [m.registration_id for m in request.members if m.registration_id in present]
        if len(members) > 1:  # a group of one is not a group
            groups.append(members)
    groups.sort(key=lambda g: min(present[r] for r in g))
    return {rid: f"G{n}" for n, group in enumerate(groups, start=1) for rid in group}


def _checked_in(school_id: int, season_id: int) -> set[int]:
    """Registrations checked in on site; 409 while a slot has not ended."""
    slots = list(db.session.scalars(select(OnsiteSlot).where(
        OnsiteSlot.school_id == school_id, OnsiteSlot.season_id == season_id)))
    if not slots:
        raise ApiError(409, "NO_ONSITE_SLOTS",
                       "本校本季没有现场确认时段；如按全部已确认录取儿童分班，请选择 confirmed")
    if any(slot.ends_at > utcnow() for slot in slots):
        raise ApiError(409, "CHECKIN_OPEN", "现场确认尚未结束，结束后才能分班")
    return set(db.session.scalars(select(OnsiteBooking.registration_id).where(
        OnsiteBooking.school_id == school_id, OnsiteBooking.season_id == season_id,
        OnsiteBooking.checked_in_at.is_not(None))))


@dataclass(frozen=True)
class _Admitted:
    """What the rules need of one admitted child."""

    registration_id: int
    child_id: int
    sex: str
    birth: str
    special: bool


def _admitted(school_id: int, season_id: int) -> list[_Admitted]:
    """The children of the school's confirmed offers (admission.offers.admitted), as columns.

    The same rows as `admitted()`, read as plain columns: a school of a few thousand
    children is committed in well under a second instead of building ORM objects.
    """
    rows = db.session.execute(
        select(Offer.registration_id, Offer.child_id, Child.sex, Child.birth_date,
               Child.categories)
        .join(Child, Offer.child_id == Child.id)
        .where(Offer.school_id == school_id, Offer.season_id == season_id,
               Offer.status == OfferStatus.CONFIRMED)
        .order_by(Offer.id))
    return [_Admitted(registration_id=rid, child_id=cid, sex=sex.value,
                      birth=f"{birth.year:04d}-{birth.month:02d}",
                      special=SPECIAL_NEEDS_CATEGORY in (categories or []))
            for rid, cid, sex, birth, categories in rows]


def commit_assignment(user: User, *, season_id: int, school_code: str | None, scope: str,
                      public_value_source: str, address: str | None) -> ClassAssignment:
    """Freeze who is assigned and under which rules; publish the commitment."""
    school = staff_scope.school_or_own(user, school_code)
    season = staff_scope.season(user, season_id)
    plan = db.session.scalar(select(SeatPlan).where(
        SeatPlan.school_id == school.id, SeatPlan.season_id == season.id))
    if plan is None:
        raise ApiError(409, "NO_SEAT_PLAN", "本校本季尚未设置招生计划（班数和班额）")
    if _live(school.id, season.id) is not None:
        raise ApiError(409, "ASSIGNMENT_EXISTS", "本校本季已有分班，不能重复分班")
    children = _admitted(school.id, season.id)
    pupil_scope = PupilScope(scope)
    if pupil_scope is PupilScope.CHECKED_IN:
        checked = _checked_in(school.id, season.id)
        children = [c for c in children if c.registration_id in checked]
    if not children:
        raise ApiError(409, "NO_PUPILS", "没有可分班的儿童")
    # 超班额: the plan's classes × class size is the limit here too.
    if len(children) > plan.seats:
        raise ApiError(409, "OVER_PLAN", "分班人数超过招生计划（班数×班额）",
                       details={"pupils": len(children), "seats": plan.seats})
    ids = {c.registration_id: pseudonym(season.id, c.child_id) for c in children}
    groups = _group_labels(school.id, season.id, ids)
    pupils = [assign.Pupil(id=ids[c.registration_id], sex=c.sex, birth=c.birth,
                           special=c.special, group=groups.get(c.registration_id))
              for c in children]
    try:
        # Whether the groups fit does not depend on the seed (see assign.py), so a failure
        # shows now, before anything is committed, and never at the draw.
        assign.assign(pupils, plan.classes, plan.class_size, "feasibility")
    except assign.AssignmentError as exc:
        raise ApiError(409, "CANNOT_ASSIGN", "按分班规则无法编班（同班申请的人数过多）",
                       details={"reason": str(exc)}) from None
    document = assign.input_document(pupils, plan.classes, plan.class_size)
    assignment = ClassAssignment(
        season_id=season.id, school_id=school.id, status=AssignmentStatus.COMMITTED,
        scope=pupil_scope, rules_version=assign.RULES_VERSION, classes=plan.classes,
        class_size=plan.class_size, pupil_count=len(pupils), committed=document,
        commitment=assign.commitment_of(document),
        public_value_source=public_value_source.strip(), committed_at=utcnow(),
        members={pid: rid for rid, pid in ids.items()}, committed_by_user_id=user.id,
        corrections=0)
    db.session.add(assignment)
    db.session.flush()
    record_audit(db.session, action="classes.commit", actor_user_id=user.id,
                 actor_role=user.role.value, object_type="class_assignment",
                 object_id=assignment.id, client_fingerprint=client_fingerprint(address),
                 details={"commitment": assignment.commitment, "pupils": len(pupils),
                          "scope": scope})
    logger.info("class assignment committed assignment_id=%s school_id=%s pupils=%s",
                assignment.id, school.id, len(pupils))
    return assignment


def staff_assignment(user: User, assignment_id: int, *, lock: bool = False) -> ClassAssignment:
    """An assignment in the caller's scope (404 otherwise)."""
    assignment = db.session.get(ClassAssignment, assignment_id, with_for_update=lock,
                                populate_existing=lock)
    if assignment is None or not staff_scope.may_see_school(user, assignment.school):
        raise ApiError(404, "ASSIGNMENT_NOT_FOUND", "未找到该分班")
    return assignment


def _require_status(assignment: ClassAssignment, status: AssignmentStatus) -> None:
    if assignment.status is status:
        return
    if assignment.status is AssignmentStatus.CANCELLED:
        raise ApiError(409, "ASSIGNMENT_CANCELLED", "该分班已取消")
    if assignment.status is AssignmentStatus.PUBLISHED:
        raise ApiError(409, "ASSIGNMENT_PUBLISHED", "分班结果已公布，只能通过更正程序调整")
    raise ApiError(409, "ASSIGNMENT_NOT_PUBLISHED", "分班结果尚未公布")


def draw_assignment(user: User, assignment_id: int, public_value: str,
                    address: str | None) -> ClassAssignment:
    """Seed with the public value, assign by the rules and publish the result at once."""
    assignment = staff_assignment(user, assignment_id, lock=True)
    _require_status(assignment, AssignmentStatus.COMMITTED)
    value = public_value.strip()
    if not value:
        raise ApiError(422, "PUBLIC_VALUE_REQUIRED", "请填写公开随机数")
    seed = assign.seed_of(assignment.commitment, value)
    result = assign.assign(assign.pupils_of(assignment.committed), assignment.classes,
                           assignment.class_size, seed)
    # The placements, in one executemany (pipelined by psycopg), not one ORM object each.
    db.session.execute(insert(PLACEMENTS), [
        {"assignment_id": assignment.id, "registration_id": rid, "pseudonym": pid,
         "drawn_class_no": result[pid], "class_no": result[pid]}
        for pid, rid in sorted(assignment.members.items())])
    db.session.expire(assignment, ["placements"])
    assignment.status = AssignmentStatus.PUBLISHED
    assignment.public_value, assignment.seed = value, seed
    assignment.published_at, assignment.published_by_user_id = utcnow(), user.id
    record_audit(db.session, action="classes.publish", actor_user_id=user.id,
                 actor_role=user.role.value, object_type="class_assignment",
                 object_id=assignment.id, client_fingerprint=client_fingerprint(address),
                 details={"seed": seed, "public_value": value})
    logger.info("class assignment published assignment_id=%s by user_id=%s", assignment.id,
                user.id)
    return assignment


def cancel_assignment(user: User, assignment_id: int, reason: str,
                      address: str | None) -> ClassAssignment:
    """Cancel a committed assignment before its draw (e.g. the input was incomplete)."""
    assignment = staff_assignment(user, assignment_id, lock=True)
    _require_status(assignment, AssignmentStatus.COMMITTED)
    assignment.status = AssignmentStatus.CANCELLED
    assignment.cancel_reason = reason.strip()
    record_audit(db.session, action="classes.cancel", actor_user_id=user.id,
                 actor_role=user.role.value, object_type="class_assignment",
                 object_id=assignment.id, client_fingerprint=client_fingerprint(address),
                 details={"reason": assignment.cancel_reason})
    return assignment


# --- the audited correction ----------------------------------------------------------------


def correct_placement(user: User, assignment_id: int, *, registration_id: int,
                      to_class: int | None, reason_code: str, note: str,
                      address: str | None) -> ClassCorrection:
    """Bureau admins change one child's class after publication, with a reason (audited)."""
    if user.role is not Role.BUREAU_ADMIN:
        raise ApiError(403, "FORBIDDEN", "分班公布后的更正须由教育局办理")
    assignment = staff_assignment(user, assignment_id, lock=True)
    _require_status(assignment, AssignmentStatus.PUBLISHED)
    if reason_code not in CORRECTION_REASONS:
        raise ApiError(422, "UNKNOWN_REASON", "更正原因代码无效")
    if reason_code == "other" and not note.strip():
        raise ApiError(422, "NOTE_REQUIRED", "选择“其他原因”时请填写说明")
    if (to_class is None) != (reason_code == "left_school"):
        raise ApiError(422, "TARGET_CLASS_MISMATCH", "只有儿童放弃入学或转学时才移出班级")
    if to_class is not None and to_class > assignment.classes:
        raise ApiError(422, "CLASS_NOT_IN_PLAN", "没有这个班级",
                       details={"classes": assignment.classes})
    placement = db.session.scalar(select(ClassPlacement).where(
        ClassPlacement.assignment_id == assignment.id,
        ClassPlacement.registration_id == registration_id))
    if placement is None:
        raise ApiError(404, "PLACEMENT_NOT_FOUND", "该儿童不在本次分班名单中")
    if placement.class_no == to_class:
        raise ApiError(409, "NO_CHANGE", "儿童已在该班级")
    if to_class is not None:
        size = db.session.scalar(select(func.count()).where(
            ClassPlacement.assignment_id == assignment.id,
            ClassPlacement.class_no == to_class)) or 0
        if size >= assignment.class_size:
            # 超班额: a correction may not take a class past the planned class size.
            raise ApiError(409, "CLASS_FULL", "该班已达计划班额", details={"size": size})
    correction = ClassCorrection(
        assignment_id=assignment.id, placement_id=placement.id, from_class=placement.class_no,
        to_class=to_class, reason_code=reason_code, note=note.strip(),
        corrected_by_user_id=user.id, corrected_at=utcnow())
    placement.class_no = to_class
    assignment.corrections += 1
    db.session.add(correction)
    db.session.flush()
    record_audit(db.session, action="classes.correct", actor_user_id=user.id,
                 actor_role=user.role.value, object_type="class_assignment",
                 object_id=assignment.id, client_fingerprint=client_fingerprint(address),
                 details={"correction_id": correction.id, "registration_id": registration_id,
                          "from_class": correction.from_class, "to_class": to_class,
                          "reason_code": reason_code, "note": correction.note})
    logger.info("class placement corrected assignment_id=%s correction_id=%s by user_id=%s",
                assignment.id, correction.id, user.id)
    return correction


def corrections_of(assignment_id: int) -> list[ClassCorrection]:
    """An assignment's corrections in the order they were made."""
    return list(db.session.scalars(select(ClassCorrection).where(
        ClassCorrection.assignment_id == assignment_id).order_by(ClassCorrection.id)))


# --- reading -------------------------------------------------------------------------------


def staff_assignments(user: User, season_id: int | None,
                      school_code: str | None) -> list[ClassAssignment]:
    """Assignments in the caller's scope, newest first."""
    stmt = select(ClassAssignment).where(
        staff_scope.covers_school(user, ClassAssignment.school_id))
    if school_code is not None:
        stmt = stmt.where(
            ClassAssignment.school_id == staff_scope.school_or_own(user, school_code).id)
    if season_id is not None:
        stmt = stmt.where(ClassAssignment.season_id == staff_scope.season(user, season_id).id)
    return list(db.session.scalars(stmt.order_by(ClassAssignment.id.desc())))


def current_placement(assignment: ClassAssignment) -> dict[str, int | None] | None:
    """pseudonym → class now (after corrections); None before the draw."""
    if assignment.status is not AssignmentStatus.PUBLISHED:
        return None
    return {p.pseudonym: p.class_no for p in assignment.placements}


def summary(assignment: ClassAssignment) -> list[dict[str, Any]] | None:
    """Per-class counts after corrections (None before the draw)."""
    placement = current_placement(assignment)
    if placement is None:
        return None
    return assign.class_summary(assign.pupils_of(assignment.committed), placement,
                                assignment.classes)


def public_assignments(school_code: str) -> tuple[School, list[ClassAssignment]]:
    """A school's assignments for the public list, newest first."""
    school = db.session.scalar(select(School).where(School.code == school_code))
    if school is None:
        raise ApiError(404, "SCHOOL_NOT_FOUND", "未找到该学校")
    return school, list(db.session.scalars(select(ClassAssignment).where(
        ClassAssignment.school_id == school.id).order_by(ClassAssignment.id.desc())))


def public_assignment(assignment_id: int) -> ClassAssignment:
    """Any assignment, for its public evidence."""
    assignment = db.session.get(ClassAssignment, assignment_id)
    if assignment is None:
        raise ApiError(404, "ASSIGNMENT_NOT_FOUND", "未找到该分班")
    return assignment


def evidence(assignment: ClassAssignment, zone_name: str) -> dict[str, Any]:
    """The public evidence: committed input, commitment, seed, result, corrections, final."""
    published = assignment.status is AssignmentStatus.PUBLISHED
    by_placement = {p.id: p.pseudonym for p in assignment.placements}
    corrections = [{
        "id": by_placement[c.placement_id], "from_class": c.from_class, "to_class": c.to_class,
        "reason_code": c.reason_code, "reason": CORRECTION_REASONS[c.reason_code],
        "at": local_iso(c.corrected_at, zone_name) or ""}
        for c in corrections_of(assignment.id)]
    drawn = ({p.pseudonym: p.drawn_class_no for p in assignment.placements}
             if published else None)
    return {
        "kind": "class_assignment", "format": 1, "assignment_id": assignment.id,
        "status": assignment.status.value,
        "school": {"code": assignment.school.code, "name": assignment.school.name},
        "season_year": season_year(assignment), "scope": assignment.scope.value,
        "rules_version": assignment.rules_version, "rules": list(assign.RULES),
        "pseudonym_note": PSEUDONYM_NOTE, "input": assignment.committed,
        "commitment": assignment.commitment,
        "public_value_source": assignment.public_value_source,
        "public_value": assignment.public_value, "seed": assignment.seed,
        "result": drawn, "corrections": corrections, "corrected": bool(corrections),
        "final": current_placement(assignment), "summary": summary(assignment),
        "committed_at": local_iso(assignment.committed_at, zone_name) or "",
        "published_at": local_iso(assignment.published_at, zone_name),
    }


def season_year(assignment: ClassAssignment) -> int:
    """The year of the assignment's season."""
    season = db.session.get(Season, assignment.season_id)
    return season.year if season is not None else 0


def my_class(user: User, registration_id: int) -> tuple[ClassPlacement, ClassAssignment]:
    """The caller's child's class in a published assignment (404 before publication)."""
    registration = my_registration(user, registration_id)
    row = db.session.execute(
        select(ClassPlacement, ClassAssignment)
        .join(ClassAssignment, ClassPlacement.assignment_id == ClassAssignment.id)
        .where(ClassPlacement.registration_id == registration.id,
               ClassAssignment.status == AssignmentStatus.PUBLISHED)
        .order_by(ClassAssignment.id.desc()).limit(1)).first()
    if row is None or row[0].class_no is None:
        raise ApiError(404, "CLASS_NOT_ASSIGNED", "尚未公布分班结果")
    return row[0], row[1]


def was_corrected(placement: ClassPlacement) -> bool:
    """Whether a correction touched this child."""
    return db.session.scalar(select(ClassCorrection.id).where(
        ClassCorrection.placement_id == placement.id).limit(1)) is not None


def staff_pupils(assignment: ClassAssignment) -> list[dict[str, Any]]:
    """Every child of an assignment with its attributes and classes (masked names)."""
    placed = {p.pseudonym: p for p in assignment.placements}
    registrations = {r.id: r for r in db.session.scalars(
        select(Registration).where(Registration.id.in_(list(assignment.members.values())))
        .options(selectinload(Registration.child)))}
    rows = []
    for pupil in assign.pupils_of(assignment.committed):
        registration_id = assignment.members[pupil.id]
        placement = placed.get(pupil.id)
        rows.append({
            "pseudonym": pupil.id, "registration_id": registration_id,
            "child_name": pii.mask_name(registrations[registration_id].child.name),
            "sex": pupil.sex, "birth": pupil.birth, "special": pupil.special,
            "group": pupil.group,
            "drawn_class_no": placement.drawn_class_no if placement else None,
            "class_no": placement.class_no if placement else None})
    return rows


@dataclass(frozen=True)
class PupilFilters:
    """Filters of an assignment's children (None: any)."""

    class_no: int | None = None
    sex: str | None = None
    special: bool | None = None
    grouped: bool | None = None
    corrected: bool | None = None
    q: str | None = None


def _matches(row: dict[str, Any], filters: PupilFilters) -> bool:
    if filters.class_no is not None and (row["class_no"] or 0) != filters.class_no:
        return False
    if filters.sex is not None and row["sex"] != filters.sex:
        return False
    if filters.special is not None and row["special"] is not filters.special:
        return False
    if filters.grouped is not None and (row["group"] is not None) is not filters.grouped:
        return False
    if filters.corrected is not None and (
            row["class_no"] != row["drawn_class_no"]) is not filters.corrected:
        return False
    if filters.q:
        q = filters.q.strip()
        masked = row["child_name"]
        # Only what staff see can be searched: the masked name, its surname, the numbers.
        return (q.upper() == row["pseudonym"] or q == str(row["registration_id"])
                or q == masked or (len(q) == 1 and not q.isascii() and masked[:1] == q))
    return True


def pupil_page(assignment: ClassAssignment, filters: PupilFilters, page: int,
               per_page: int) -> tuple[list[dict[str, Any]], int]:
    """One page of the assignment's children matching the filters, and their count."""
    rows = [row for row in staff_pupils(assignment) if _matches(row, filters)]
    return rows[(page - 1) * per_page:page * per_page], len(rows)


def staff_names(user_ids: set[int]) -> dict[int, str]:
    """user id → display name (or username), for logs shown to staff."""
    if not user_ids:
        return {}
    return {u.id: u.display_name or u.username or str(u.id)
            for u in db.session.scalars(select(User).where(User.id.in_(sorted(user_ids))))}


def placement_registrations(assignment_id: int) -> dict[int, tuple[str, int]]:
    """placement id → (pseudonym, registration id)."""
    return {pid: (pseudo, rid) for pid, pseudo, rid in db.session.execute(
        select(ClassPlacement.id, ClassPlacement.pseudonym, ClassPlacement.registration_id)
        .where(ClassPlacement.assignment_id == assignment_id))}
