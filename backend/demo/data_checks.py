"""Two demo families whose documents government data checked, matching the simulator's demo
records (`backend/govdata/simulator.py` DEFAULT_RECORDS, listed in docs/VERIFICATION.md):

- 王小明 with his father 王建国 (城关社区, 临泉镇第一小学's zone): household, birth and
  property confirmed, so the family registered with NO upload and waits for review, ready
  for the console's 批量通过（全部已核验）;
- 李小红's mother 刘芳 entered the child's name as 李晓红 (白文镇, 白文镇中心小学): the
  household record's name differs (mismatch on 姓名), so the family uploaded the 户口簿 and
  the reviewer sees why.

The checks are asked through the same service the worker uses (`run_checks`), so they say
what the configured source says: when GOVDATA_SOURCES does not reach a source (`flask
seed-demo` alone), they are left unasked or unavailable, the zero-upload family gets no
registration, and the summary says so; a later run with the simulator finishes them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select

from backend.accounts.models import User
from backend.core.db import after_commit, db, utcnow
from backend.demo.families import add_family, document_image, submitted_registration
from backend.identity.models import Child, Guardian, Relation, VerificationLevel
from backend.registrations.models import Registration
from backend.schools.models import Region, School
from backend.seasons.models import Season
from backend.uploads.models import UploadKind
from backend.uploads.services import create_upload
from backend.verification import events as verification_events
from backend.verification.consent import DATA_CHECK_CONSENT_VERSION
from backend.verification.models import CheckStatus, DataCheckChannel, DataCheckConsent
from backend.verification.services import (
    checks_for_children,
    document_states,
    facts_to_ask,
    run_checks,
)

# A source's answer that asking again would not change.
_ANSWERED = (CheckStatus.CONFIRMED, CheckStatus.MISMATCH, CheckStatus.NOT_FOUND)


@dataclass(frozen=True)
class CheckedFamily:
    """A demo family that consented to data checks, and what it registered."""

    openid: str
    guardian_name: str
    guardian_number: str
    relation: Relation
    phone: str
    child_name: str
    child_number: str
    birth: dt.date
    male: bool
    region_code: str
    address: str
    school_code: str
    ticket: str
    upload: UploadKind | None  # None: relies on the checks, uploads nothing


VERIFIED_OPENID = "demo-checked-001"
MISMATCH_OPENID = "demo-checked-002"
CHECKED_FAMILIES = (
    CheckedFamily(VERIFIED_OPENID, "王建国", "141124198503120034", Relation.FATHER,
                  "13800009001", "王小明", "141124201911050017", dt.date(2019, 11, 5), True,
                  "141124100001", "临泉镇城关社区东街12号", "LX001", "TDEMOCHECK1", None),
    # The household record says 李小红: the name entered differs.
    CheckedFamily(MISMATCH_OPENID, "刘芳", "141124198807200041", Relation.MOTHER,
                  "13800009002", "李晓红", "141124202002140028", dt.date(2020, 2, 14), False,
                  "141124104201", "白文镇白文村三组8号", "LX004", "TDEMOCHECK2",
                  UploadKind.HUKOU_BOOK),
)


@dataclass
class CheckedOutcome:
    """What the run did for the checked families, for the printed summary."""

    families: int = 0
    registrations: int = 0
    notes: list[str] = field(default_factory=list)


def load_checked_families(season: Season, now: dt.datetime) -> CheckedOutcome:
    """Add (once) the checked families, ask their outstanding checks, and register each one
    whose documents are in order (idempotent; the caller commits)."""
    outcome = CheckedOutcome()
    asked: list[int] = []
    for spec in CHECKED_FAMILIES:
        user, child = _family(spec, outcome)
        if _ask_outstanding(user, child):
            asked.append(child.id)
        _register(spec, season, user, child, now, outcome)
    if asked:
        # As the worker does after its commit: the intake's cached facts follow the answers.
        after_commit(lambda: verification_events.checks_changed.send(None, child_ids=asked))
    return outcome


def _family(spec: CheckedFamily, outcome: CheckedOutcome) -> tuple[User, Child]:
    user = db.session.scalar(select(User).where(User.openid == spec.openid))
    if user is not None:
        child = db.session.scalar(select(Child).join(Guardian).where(Guardian.user_id == user.id)
                                  .order_by(Child.id).limit(1))
        if child is not None:
            return user, child
        raise RuntimeError(f"demo account {spec.openid} exists without its child")
    region_id = db.session.scalar(select(Region.id).where(Region.code == spec.region_code))
    if region_id is None:
        raise RuntimeError(f"demo region {spec.region_code} is missing")
    user, child = add_family(
        spec.openid, guardian_name=spec.guardian_name, guardian_number=spec.guardian_number,
        relation=spec.relation, phone=spec.phone, child_name=spec.child_name,
        child_number=spec.child_number, birth=spec.birth, male=spec.male,
        region_id=region_id, address=spec.address)
    # The guardian passed WeChat's 人脸核身 in the mini-program: the guardian's own records
    # (property) are asked only then (verification.services.applicable_facts).
    child.guardian.verification = VerificationLevel.FACE_VERIFIED
    child.guardian.verified_at = utcnow()
    # The separate consent to data checks, ticked in the mini-program's 报名表.
    db.session.add(DataCheckConsent(child_id=child.id, user_id=user.id,
                                    version=DATA_CHECK_CONSENT_VERSION,
                                    channel=DataCheckChannel.MINI_PROGRAM, agreed_at=utcnow()))
    db.session.flush()
    outcome.families += 1
    return user, child


def _ask_outstanding(user: User, child: Child) -> bool:
    """Ask, synchronously, the checks without a final answer yet; False if none was asked."""
    answered = {c.fact for c in checks_for_children([child.id]).get(child.id, [])
                if c.status in _ANSWERED}
    facts = [f.value for f in facts_to_ask(child) if f not in answered]
    if not facts:
        return False
    return run_checks(db.session(), child.id, facts, actor_user_id=user.id,
                      actor_role="parent")


def _register(spec: CheckedFamily, season: Season, user: User, child: Child,
              now: dt.datetime, outcome: CheckedOutcome) -> None:
    checks = checks_for_children([child.id]).get(child.id, [])
    said = ", ".join(f"{c.fact.value} {c.status.value}" for c in checks) or (
        "not asked: GOVDATA_SOURCES has no source for the demo county")
    # Registered once (an earlier sample season's registration keeps its ticket).
    existing = db.session.scalar(select(Registration).where(
        Registration.child_id == child.id).order_by(Registration.id).limit(1))
    if existing is not None:
        outcome.notes.append(f"{spec.openid}: checks {said}; registration {existing.ticket} "
                             f"{existing.status.value}")
        return
    states = document_states([child.id]).get(child.id)
    if spec.upload is None and (states is None or
                                UploadKind.HUKOU_BOOK.value not in states.verified):
        outcome.notes.append(
            f"{spec.openid}: checks {said}; NOT registered (its 户口簿 is not confirmed yet): "
            "run seed-demo again with the government data simulator running (scripts/server "
            "starts it)")
        return
    school = db.session.scalar(select(School).where(School.code == spec.school_code))
    if school is None:
        raise RuntimeError(f"demo school {spec.school_code} is missing")
    registration = submitted_registration(season, child, school, user, ticket=spec.ticket,
                                          submitted_at=now - dt.timedelta(minutes=30))
    if spec.upload is not None:
        registration.uploads = [create_upload(user.id, spec.upload,
                                              document_image("HUKOU SAMPLE"))]
    db.session.add(registration)
    db.session.flush()
    outcome.registrations += 1
    uploads = len(registration.uploads)
    outcome.notes.append(f"{spec.openid}: checks {said}; registration {spec.ticket} at "
                         f"{spec.school_code} with {uploads} upload(s), waiting for review")
