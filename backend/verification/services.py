"""Data checks: the family's consent, which facts are asked, asking the sources (in the
worker only), the answers as documents the intake counts, and the family's view.

Nothing here queries a source inside a request: a request records the consent and queues
`verification.check`; the worker (`jobs.py`) calls `run_checks`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, scoped_session

from backend.accounts.models import User
from backend.audit.services import record_audit
from backend.core import pii
from backend.core.db import db, utcnow
from backend.core.errors import ApiError
from backend.core.jobs import enqueue_after_commit
from backend.govdata.sources import Fact, Outcome, Result, Source, Subject
from backend.identity import services as identity_services
from backend.identity.models import Child, DocumentType, VerificationLevel
from backend.schools.models import School
from backend.schools.services import zoned_schools
from backend.uploads.models import UploadKind
from backend.verification.consent import DATA_CHECK_CONSENT_VERSION
from backend.verification.models import CheckStatus, DataCheck, DataCheckChannel, DataCheckConsent

logger = logging.getLogger(__name__)

AnySession = Session | scoped_session[Session]

CHECK_JOB = "verification.check"
# A queued check not answered by then is queued again by the retry chore (a lost message).
LEASE = dt.timedelta(minutes=10)
FIRST_RETRY_SECONDS = 60
LONGEST_RETRY_SECONDS = 3600

# The uploaded document each confirmed fact stands in for.
FACT_DOCUMENTS: dict[Fact, UploadKind] = {
    Fact.HOUSEHOLD: UploadKind.HUKOU_BOOK,
    Fact.PROPERTY: UploadKind.PROPERTY_CERTIFICATE,
    Fact.RESIDENCE_PERMIT: UploadKind.RESIDENCE_PERMIT,
    Fact.BIRTH: UploadKind.BIRTH_CERTIFICATE,
}
FACT_NAMES: dict[Fact, str] = {
    Fact.HOUSEHOLD: "户籍信息",
    Fact.PROPERTY: "不动产登记信息",
    Fact.RESIDENCE_PERMIT: "居住证信息",
    Fact.BIRTH: "出生医学证明信息",
}
DOCUMENT_SHORT_NAMES: dict[Fact, str] = {
    Fact.HOUSEHOLD: "户口簿",
    Fact.PROPERTY: "房产证或购房合同",
    Fact.RESIDENCE_PERMIT: "居住证",
    Fact.BIRTH: "出生医学证明",
}
# Why a check did not confirm its fact, when the source gave no reason of its own (the
# family's messages and the reviewer's requirement lines both say it).
NOT_PASSED_REASONS = {
    CheckStatus.NOT_FOUND: "未查到相关记录",
    CheckStatus.MISMATCH: "登记信息与记录不一致",
    CheckStatus.UNAVAILABLE: "核验服务暂不可用",
    CheckStatus.PENDING: "正在核验",
}
# Which of the child's details (identity.events.CHECKED_DETAILS, plus "guardian" for the
# binding) each fact's question carries: see `_subject`.
FACT_INPUTS: dict[Fact, frozenset[str]] = {
    Fact.HOUSEHOLD: frozenset({"name", "hukou_region", "guardian"}),
    Fact.BIRTH: frozenset({"name", "guardian"}),
    Fact.PROPERTY: frozenset({"hukou_region", "residence_region", "guardian"}),
    Fact.RESIDENCE_PERMIT: frozenset({"hukou_region", "residence_region", "residence_permit",
                                      "guardian"}),
}
# Facts whose record says where the family lives: the zoned school can be proposed.
ADDRESS_FACTS = (Fact.HOUSEHOLD, Fact.PROPERTY)


def sources(division_code: str) -> dict[Fact, Source]:
    """The sources the authority (by its 行政区划代码) has switched on (GOVDATA_SOURCES)."""
    from backend.govdata.client import sources_for

    return sources_for(division_code)


def check_job(child_id: int, facts: list[str], *, actor_user_id: int | None,
              actor_role: str) -> dict[str, Any]:
    """The queued `verification.check` message: which child, which facts, asked by whom."""
    return {"child_id": child_id, "facts": facts, "actor_user_id": actor_user_id,
            "actor_role": actor_role}


ANSWERED = (CheckStatus.CONFIRMED, CheckStatus.NOT_FOUND, CheckStatus.MISMATCH)


def applicable_facts(child: Child) -> list[Fact]:
    """What may be asked about this child: household and birth for a child with a resident
    ID; property for a guardian with one whose binding WeChat's 人脸核身 confirmed, and then
    the residence permit when the child has one."""
    found: list[Fact] = []
    if child.document_type is DocumentType.RESIDENT_ID and child.id_number_enc:
        found += [Fact.HOUSEHOLD, Fact.BIRTH]
    guardian = child.guardian
    # The guardian's own records (property, residence permit) are asked about the person
    # the account claims to be: only once a face check showed it is that person, never on
    # a self-declared binding (anyone can type someone else's name and number).
    if (guardian.document_type is DocumentType.RESIDENT_ID and guardian.id_number_enc
            and guardian.verification is VerificationLevel.FACE_VERIFIED):
        found.append(Fact.PROPERTY)
    if child.residence_permit and Fact.PROPERTY in found:  # the permit is the guardian's
        found.append(Fact.RESIDENCE_PERMIT)
    return found


def facts_to_ask(child: Child) -> list[Fact]:
    """The applicable facts the child's authority has a source for."""
    configured = sources(child.hukou_region.authority.division_code)
    return [fact for fact in applicable_facts(child) if fact in configured]


# --- consent and asking (requests) ---------------------------------------------------------


def _consent_refused(status: int, code: str, message: str) -> ApiError:
    # Shaped like a validation error, so the form shows it next to the consent box.
    return ApiError(status, code, message, details={
        "field": "consent_version",
        "fields": [{"field": "consent_version", "type": code, "message": message}]})


def check_consent(version: str | None, agreed: bool | None) -> None:
    """422 without the ticked consent, 409 for a consent to an older text."""
    if not version or agreed is not True:
        raise _consent_refused(422, "DATA_CHECK_CONSENT_REQUIRED",
                               "核验前，请阅读《政府数据核验授权书》并勾选同意")
    if version != DATA_CHECK_CONSENT_VERSION:
        raise _consent_refused(409, "DATA_CHECK_CONSENT_OUTDATED",
                               "授权书内容已更新，请重新阅读后勾选同意")


def ask_checks(user: User, child_id: int, *, version: str | None, agreed: bool | None,
               channel: DataCheckChannel) -> Child:
    """Record the family's consent for one of its children and queue the checks (after the
    commit); 404 for anyone else's child. Nothing is asked here."""
    child = identity_services.get_child(user, child_id)
    check_consent(version, agreed)
    db.session.add(DataCheckConsent(child_id=child.id, user_id=user.id,
                                    version=DATA_CHECK_CONSENT_VERSION, channel=channel,
                                    agreed_at=utcnow()))
    now = utcnow()
    current = {c.fact: c for c in db.session.scalars(
        select(DataCheck).where(DataCheck.child_id == child.id).with_for_update())}
    queued: list[Fact] = []
    for fact in facts_to_ask(child):
        check = current.get(fact)
        if check is None:
            check = DataCheck(child_id=child.id, fact=fact, status=CheckStatus.PENDING,
                              attempts=0)
            db.session.add(check)
        elif check.status in ANSWERED:
            # Answered already: consenting again asks nothing again (a change of the
            # child's details is what asks again, `ask_again`), so no family can spend the
            # county's query quota by repeating its consent.
            continue
        elif check.next_attempt_at is not None and check.next_attempt_at > now:
            continue  # queued, or waiting for its retry: asking twice queries nothing twice
        # Kept until answered: a message lost on the way is queued again by the chore.
        check.next_attempt_at = now + LEASE
        queued.append(fact)
    db.session.flush()
    if queued:
        enqueue_after_commit(CHECK_JOB, check_job(child.id, [f.value for f in queued],
                                                  actor_user_id=user.id, actor_role="parent"))
    logger.info("data checks asked user_id=%s child_id=%s facts=%s channel=%s", user.id,
                child.id, ",".join(f.value for f in queued) or "-", channel.value)
    return child


def ask_again(child: Child, fields: frozenset[str], *, actor_user_id: int | None,
              actor_role: str) -> list[Fact]:
    """The checks whose question used one of the changed details go back to pending (no
    longer standing in for a document) and, if the consent stands, are queued again after
    the commit; a check that no longer applies (a permit removed) is dropped. The facts
    queued."""
    affected = [fact for fact, inputs in FACT_INPUTS.items() if inputs & fields]
    current = {c.fact: c for c in db.session.scalars(select(DataCheck).where(
        DataCheck.child_id == child.id, DataCheck.fact.in_(affected)).with_for_update())}
    consented = latest_consent(db.session, child) is not None
    wanted = facts_to_ask(child) if consented else []
    now = utcnow()
    queued: list[Fact] = []
    for fact in affected:
        check = current.get(fact)
        if fact not in applicable_facts(child):
            if check is not None:
                db.session.delete(check)
            continue
        if check is None and fact not in wanted:
            continue
        if check is None:
            check = DataCheck(child_id=child.id, fact=fact, attempts=0)
            db.session.add(check)
        check.status = CheckStatus.PENDING
        check.reference = check.reason = check.address = check.region_code = None
        check.checked_at = None
        check.attempts = 0
        check.next_attempt_at = None
        if fact in wanted:
            check.next_attempt_at = now + LEASE  # a lost message is queued again
            queued.append(fact)
    db.session.flush()
    if queued:
        enqueue_after_commit(CHECK_JOB, check_job(child.id, [f.value for f in queued],
                                                  actor_user_id=actor_user_id,
                                                  actor_role=actor_role))
    logger.info("data checks reset child_id=%s details=%s queued=%s", child.id,
                ",".join(sorted(fields)), ",".join(f.value for f in queued) or "-")
    return queued


def latest_consent(session: AnySession, child: Child) -> DataCheckConsent | None:
    """The child's latest data-check consent to the current text given by the account that
    holds the child now (after a binding moves, the earlier account's consent no longer
    counts: the new holder must consent), if any."""
    return session.scalar(select(DataCheckConsent).where(
        DataCheckConsent.child_id == child.id,
        DataCheckConsent.user_id == child.guardian.user_id,
        DataCheckConsent.version == DATA_CHECK_CONSENT_VERSION,
    ).order_by(DataCheckConsent.id.desc()).limit(1))


# --- asking the sources (the worker) -------------------------------------------------------


def _subject(child: Child, fact: Fact) -> Subject:
    guardian = child.guardian
    permit = child.residence_permit or {}
    region = child.hukou_region if fact is Fact.HOUSEHOLD else (
        child.residence_region or child.hukou_region)
    return Subject(
        child_id_number=pii.decrypt(child.id_number_enc, identity_services.CHILD_ID)
        if child.id_number_enc else None,
        child_name=child.name, child_birth_date=child.birth_date,
        guardian_id_number=pii.decrypt(guardian.id_number_enc, identity_services.GUARDIAN_ID)
        if guardian.id_number_enc else None,
        guardian_name=guardian.name,
        residence_permit_number=pii.decrypt(permit["number_enc"],
                                            identity_services.PERMIT_NUMBER)
        if permit.get("number_enc") else None,
        declared_region_code=region.code if fact is not Fact.BIRTH else None)


def _ask(source: Source, subject: Subject, fact: Fact) -> Result:
    # An adapter must answer UNAVAILABLE for its own failures; one that raises anyway is
    # treated the same, so a broken source never blocks the other checks.
    try:
        return source.verify(subject)
    except Exception as exc:
        logger.warning("data source failed fact=%s error=%s", fact.value, type(exc).__name__)
        return Result(fact=fact, outcome=Outcome.UNAVAILABLE,
                      source=getattr(source, "name", fact.value), checked_at=utcnow(),
                      reason="核验服务暂不可用")


def retry_delay(attempts: int, retry_after: int | None) -> dt.timedelta:
    """Exponential backoff from a minute up to an hour, never sooner than the source asked."""
    backoff = min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), LONGEST_RETRY_SECONDS)
    return dt.timedelta(seconds=max(backoff, retry_after or 0))


def _record(check: DataCheck, result: Result) -> None:
    if result.outcome is Outcome.UNAVAILABLE and check.status is CheckStatus.CONFIRMED:
        # A source that is down says nothing new: the confirmation stands (a change of the
        # child's details is what resets it, `ask_again`).
        check.attempts += 1
        check.next_attempt_at = None
        return
    check.status = CheckStatus(result.outcome.value)
    check.source = result.source[:100]
    check.reference = result.reference[:100] if result.reference else None
    check.checked_at = result.checked_at
    check.reason = result.reason[:200] if result.reason else None
    check.attempts += 1
    if result.outcome is Outcome.UNAVAILABLE:
        # Keep what an earlier answer said about the address; ask again later.
        check.next_attempt_at = utcnow() + retry_delay(check.attempts, result.retry_after)
        return
    check.address = result.address[:200] if result.address else None
    check.region_code = result.region_code
    check.next_attempt_at = None


def _release(checks: dict[Fact, DataCheck], facts: list[str]) -> None:
    for check in checks.values():
        if check.fact.value in facts and check.status in (CheckStatus.PENDING,
                                                          CheckStatus.UNAVAILABLE):
            check.next_attempt_at = None


def run_checks(session: Session, child_id: int, facts: list[str], *,
               actor_user_id: int | None, actor_role: str,
               down: dict[tuple[str, Fact], Result] | None = None) -> bool:
    """Ask each source about the child, write the check rows and one audit row per query;
    False when nothing was asked (no child, no consent, nothing configured).

    `down` is shared by the jobs of one batch: a source that was unavailable is not asked
    again in that batch (its checks wait for the retry), so a source that times out costs
    the worker one timeout per batch, not one per child."""
    child = session.get(Child, child_id)
    if child is None:
        return False
    checks = {c.fact: c for c in session.scalars(select(DataCheck).where(
        DataCheck.child_id == child_id).with_for_update())}
    if latest_consent(session, child) is None:
        # Never a query without the family's recorded consent to the current text.
        logger.warning("data checks skipped, no consent child_id=%s", child_id)
        _release(checks, facts)
        return False
    division = child.hukou_region.authority.division_code
    configured = sources(division)
    wanted = [f for f in applicable_facts(child) if f.value in facts and f in configured]
    # What was asked for but cannot be asked now waits for a new consent or a change, not
    # for the retry chore (which would claim it again every lease, for ever).
    _release(checks, [f for f in facts if f not in {w.value for w in wanted}])
    down = {} if down is None else down
    for fact in wanted:
        check = checks.get(fact)
        if check is None:
            check = DataCheck(child_id=child_id, fact=fact, attempts=0)
            session.add(check)
        known_down = down.get((division, fact))
        if known_down is not None:
            if check.status is CheckStatus.CONFIRMED:
                continue  # the confirmation stands while the source is down
            check.status = CheckStatus.UNAVAILABLE
            check.next_attempt_at = utcnow() + retry_delay(check.attempts or 1,
                                                           known_down.retry_after)
            continue
        result = _ask(configured[fact], _subject(child, fact), fact)
        if result.outcome is Outcome.UNAVAILABLE:
            down[(division, fact)] = result
        _record(check, result)
        # Who asked, about which child, which source, what it said: never the ID number.
        record_audit(session, action="verification.query", actor_user_id=actor_user_id,
                     actor_role=actor_role, object_type="child", object_id=child_id,
                     details={"fact": fact.value, "source": check.source,
                              "outcome": result.outcome.value, "reference": check.reference,
                              "attempt": check.attempts})
        logger.info("data check child_id=%s fact=%s outcome=%s attempt=%s", child_id,
                    fact.value, result.outcome.value, check.attempts)
    session.flush()
    return bool(wanted)


@dataclass(frozen=True)
class DueCheck:
    """Checks to ask again for one child (the retry chore queues them)."""

    child_id: int
    facts: list[str]


def claim_due_checks(now: dt.datetime | None = None, limit: int = 200) -> list[DueCheck]:
    """Checks whose time to ask again has come, claimed for LEASE (the caller commits, then
    queues them): sources that were unavailable, and queued checks never answered."""
    now = now or utcnow()
    due = list(db.session.scalars(
        select(DataCheck).where(DataCheck.next_attempt_at.is_not(None),
                                DataCheck.next_attempt_at <= now)
        .order_by(DataCheck.next_attempt_at).limit(limit).with_for_update(skip_locked=True)))
    by_child: dict[int, list[str]] = defaultdict(list)
    for check in due:
        check.next_attempt_at = now + LEASE
        by_child[check.child_id].append(check.fact.value)
    db.session.flush()
    return [DueCheck(child_id, facts) for child_id, facts in by_child.items()]


def forget_addresses(child_ids: list[int]) -> int:
    """The season's purge: the addresses the records gave go with the ID numbers (the
    status, source and reference stay, for the record of what was checked)."""
    if not child_ids:
        return 0
    checks = list(db.session.scalars(select(DataCheck).where(
        DataCheck.child_id.in_(child_ids), DataCheck.address.is_not(None))))
    for check in checks:
        check.address = None
    return len(checks)


# --- what the checks mean for the documents -----------------------------------------------


def checks_for_children(child_ids: list[int],
                        session: AnySession | None = None) -> dict[int, list[DataCheck]]:
    """Every child's current checks, by child id (children without any are left out)."""
    found: dict[int, list[DataCheck]] = defaultdict(list)
    if not child_ids:
        return {}
    for check in (session or db.session).scalars(
            select(DataCheck).where(DataCheck.child_id.in_(child_ids))
            .order_by(DataCheck.child_id, DataCheck.id)):
        found[check.child_id].append(check)
    return dict(found)


def not_passed_reason(check: DataCheck) -> str | None:
    """Why a check did not confirm the fact (None once confirmed)."""
    if check.status is CheckStatus.CONFIRMED:
        return None
    return check.reason or NOT_PASSED_REASONS[check.status]


def check_message(check: DataCheck) -> str:
    """What the family reads about one check."""
    name = FACT_NAMES[check.fact]
    if check.status is CheckStatus.CONFIRMED:
        return f"已由{name}核验，无需上传"
    if check.status in (CheckStatus.NOT_FOUND, CheckStatus.MISMATCH):
        return (f"{name}核验未通过：{not_passed_reason(check)}，"
                f"请上传{DOCUMENT_SHORT_NAMES[check.fact]}")
    if check.status is CheckStatus.UNAVAILABLE:
        return "核验服务暂不可用，可先上传材料"
    return "正在核验，请稍候；也可先上传材料"


@dataclass(frozen=True)
class DocumentStates:
    """What the checks mean for a child's documents (the intake caches these)."""

    verified: list[str]  # upload kinds a confirmed fact stands in for
    refused: dict[str, str]  # upload kind → why its check did not pass (not found, mismatch)


def document_states(child_ids: list[int],
                    session: AnySession | None = None) -> dict[int, DocumentStates]:
    """Per child: the document kinds its confirmed checks stand in for, and the reasons of
    the failed ones (children without checks are left out)."""
    states: dict[int, DocumentStates] = {}
    for child_id, checks in checks_for_children(child_ids, session).items():
        states[child_id] = DocumentStates(
            verified=[FACT_DOCUMENTS[c.fact].value for c in checks
                      if c.status is CheckStatus.CONFIRMED],
            refused={FACT_DOCUMENTS[c.fact].value: check_message(c) for c in checks
                     if c.status in (CheckStatus.NOT_FOUND, CheckStatus.MISMATCH)})
    return states


# --- the family's view ---------------------------------------------------------------------


@dataclass(frozen=True)
class ZoningProposal:
    """The school zoned for the address a household or property record gives."""

    fact: Fact
    region_code: str
    region_name: str
    schools: list[School]


@dataclass(frozen=True)
class FamilyView:
    """A child's consent and checks, as its family sees them."""

    child: Child
    consent: DataCheckConsent | None
    checks: list[DataCheck]
    zoning: list[ZoningProposal]


def zoning_proposals(checks: list[DataCheck]) -> list[ZoningProposal]:
    """划片: the schools zoned for the region a confirmed address record names (a proposal;
    the family still chooses the school)."""
    proposals: list[ZoningProposal] = []
    for check in checks:
        if (check.fact not in ADDRESS_FACTS or check.status is not CheckStatus.CONFIRMED
                or not check.region_code):
            continue
        try:
            region, schools = zoned_schools(check.region_code)
        except ApiError:  # a region outside the catalogue, or only a town: nothing to propose
            continue
        proposals.append(ZoningProposal(check.fact, region.code, region.name, schools))
    return proposals


def family_view(user: User, child_id: int) -> FamilyView:
    """One of the caller's children's checks (404 for anyone else's)."""
    child = identity_services.get_child(user, child_id)
    checks = checks_for_children([child.id]).get(child.id, [])
    return FamilyView(child=child, consent=latest_consent(db.session, child),
                      checks=checks, zoning=zoning_proposals(checks))


def verified_documents(user: User, child_id: int) -> dict[str, DataCheck]:
    """One of the caller's children's checks by the upload kind each stands in for."""
    child = identity_services.get_child(user, child_id)
    return {FACT_DOCUMENTS[c.fact].value: c
            for c in checks_for_children([child.id]).get(child.id, [])}
