"""The one table of registration status changes: from which status, by whom, to which.

Every change of a registration's status goes through `apply()`: it looks the move up in
`TRANSITIONS`, writes it with a compare-and-set UPDATE (the status and version it read must
still be there, so two reviewers acting at once can never both pass), bumps the version and
appends the timeline event. Nothing else assigns `Registration.status` after creation.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from backend.core.db import utcnow
from backend.core.errors import ApiError
from backend.registrations.models import Registration, RegistrationEvent, RegistrationStatus


class Actor(enum.Enum):
    """Who moves a registration; the value is the role written on the timeline."""

    PARENT = "parent"
    SCHOOL = "school_staff"
    BUREAU = "bureau_admin"


class Action(enum.Enum):
    """What the actor does."""

    WITHDRAW = "withdraw"  # the family withdraws (while the window is open, before review)
    RESUBMIT = "resubmit"  # the family's edit or fix, applied by the worker
    START_REVIEW = "start_review"  # a reviewer takes it up (implicit in the first decision)
    APPROVE = "approve"
    FORWARD = "forward"  # a school approves a special group's registration: the bureau next
    RETURN = "return"  # back to the family for correction, with a reason and a deadline
    REJECT = "reject"


S = RegistrationStatus
A = Action

TRANSITIONS: dict[tuple[RegistrationStatus, Actor, Action], RegistrationStatus] = {
    (S.SUBMITTED, Actor.PARENT, A.WITHDRAW): S.WITHDRAWN,
    (S.SUBMITTED, Actor.PARENT, A.RESUBMIT): S.SUBMITTED,
    (S.RETURNED, Actor.PARENT, A.RESUBMIT): S.SUBMITTED,
    # School review.
    (S.SUBMITTED, Actor.SCHOOL, A.START_REVIEW): S.UNDER_REVIEW,
    (S.UNDER_REVIEW, Actor.SCHOOL, A.APPROVE): S.APPROVED,
    (S.UNDER_REVIEW, Actor.SCHOOL, A.FORWARD): S.BUREAU_REVIEW,
    (S.UNDER_REVIEW, Actor.SCHOOL, A.RETURN): S.RETURNED,
    (S.UNDER_REVIEW, Actor.SCHOOL, A.REJECT): S.REJECTED,
    (S.RETURNED, Actor.SCHOOL, A.REJECT): S.REJECTED,  # no fix came before the deadline
    # The bureau may review anything of its county, and alone completes a special group's.
    (S.SUBMITTED, Actor.BUREAU, A.START_REVIEW): S.UNDER_REVIEW,
    (S.UNDER_REVIEW, Actor.BUREAU, A.APPROVE): S.APPROVED,
    (S.UNDER_REVIEW, Actor.BUREAU, A.RETURN): S.RETURNED,
    (S.UNDER_REVIEW, Actor.BUREAU, A.REJECT): S.REJECTED,
    (S.RETURNED, Actor.BUREAU, A.REJECT): S.REJECTED,
    (S.BUREAU_REVIEW, Actor.BUREAU, A.APPROVE): S.APPROVED,
    (S.BUREAU_REVIEW, Actor.BUREAU, A.RETURN): S.RETURNED,
    (S.BUREAU_REVIEW, Actor.BUREAU, A.REJECT): S.REJECTED,
}

# BRIEF §2 rule 7: disabled children's placement and the preferential groups' treatment are
# the bureau's decision, so a school's approval of these is only the first of two reviews.
PREFERENTIAL_CATEGORIES = frozenset({
    "martyr_child", "military_child", "police_hero_child", "other_entitled",
    "overseas_chinese", "hmt", "international",
})
BUREAU_REVIEW_CATEGORIES = frozenset({"disability"}) | PREFERENTIAL_CATEGORIES

DECISIONS = ("approve", "return", "reject")


class TransitionNotAllowed(ApiError):
    """The table has no such move from the registration's current status."""

    def __init__(self, status: RegistrationStatus) -> None:
        super().__init__(409, "TRANSITION_NOT_ALLOWED",
                         "该报名当前状态不能执行此操作，请刷新后查看",
                         details={"status": status.value})


class StaleState(ApiError):
    """The registration changed since the caller read it."""

    def __init__(self) -> None:
        super().__init__(409, "STALE_STATE", "该报名已被他人处理或家长已修改，请刷新后重新审核")


def target(status: RegistrationStatus, actor: Actor, action: Action) -> RegistrationStatus:
    """Where `action` by `actor` leads from `status` (TransitionNotAllowed if nowhere)."""
    found = TRANSITIONS.get((status, actor, action))
    if found is None:
        raise TransitionNotAllowed(status)
    return found


def allowed(status: RegistrationStatus, actor: Actor, action: Action) -> bool:
    """Whether the table has this move."""
    return (status, actor, action) in TRANSITIONS


def needs_bureau_review(categories: list[str]) -> bool:
    """Whether a school's approval must be followed by the bureau's (special groups)."""
    return not BUREAU_REVIEW_CATEGORIES.isdisjoint(categories)


def review_action(decision: str, actor: Actor, categories: list[str]) -> Action:
    """The table's action for a reviewer's decision (approve|return|reject)."""
    if decision == "approve":
        if actor is Actor.SCHOOL and needs_bureau_review(categories):
            return Action.FORWARD
        return Action.APPROVE
    return Action.RETURN if decision == "return" else Action.REJECT


def decisions_for(status: RegistrationStatus, actor: Actor,
                  categories: list[str]) -> list[str]:
    """The decisions `actor` may take on a registration in `status` (for the reviewer's UI)."""
    # A decision on a submitted registration starts the review first (one request).
    start = status
    if allowed(status, actor, Action.START_REVIEW):
        start = target(status, actor, Action.START_REVIEW)
    return [d for d in DECISIONS
            if allowed(start, actor, review_action(d, actor, categories))]


def apply(session: Session, registration: Registration, action: Action, actor: Actor, *,
          actor_user_id: int | None, expected_version: int | None = None,
          reason_code: str | None = None, note: str | None = None,
          fix_deadline: dt.datetime | None = None,
          now: dt.datetime | None = None) -> RegistrationEvent:
    """Make one move of the table, compare-and-set, and append its timeline event."""
    new_status = target(registration.status, actor, action)
    old_status, old_version = registration.status, registration.version
    if expected_version is not None and expected_version != old_version:
        raise StaleState()
    now = now or utcnow()
    values: dict[str, Any] = {
        "status": new_status, "version": old_version + 1, "updated_at": now,
        # The deadline belongs to the return; any other move ends it.
        "fix_deadline": fix_deadline if new_status is RegistrationStatus.RETURNED else None,
    }
    result = cast(CursorResult[Any], session.execute(
        update(Registration)
        .where(Registration.id == registration.id, Registration.status == old_status,
               Registration.version == old_version)
        .values(**values)
        .execution_options(synchronize_session=False)))
    if result.rowcount != 1:
        raise StaleState()
    for key, value in values.items():
        set_committed_value(registration, key, value)
    event = RegistrationEvent(registration_id=registration.id, status=new_status,
                              occurred_at=now, actor_user_id=actor_user_id,
                              actor_role=actor.value, reason_code=reason_code, note=note)
    registration.events.append(event)
    session.flush()
    return event
