"""Two counties for the operations pages' tests: county A with a school, its staff, a family
whose ID number is disputed, a registration, notices and dead letters; county B's bureau."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from backend.accounts.models import User
from backend.core.db import db, utcnow
from backend.core.jobs import INTAKE, JOBS, dead_letter_key
from backend.core.redis import redis_store
from backend.identity.models import Child, Guardian, IdentityDispute
from backend.notices.models import Notice, NoticeStatus
from backend.registrations.models import Registration
from backend.schools.models import RegionLevel, School
from backend.seasons.models import Season
from tests.factories import (
    make_authority,
    make_child,
    make_guardian,
    make_id_number,
    make_parent,
    make_region,
    make_registration,
    make_school,
    make_season,
    make_staff,
)


@dataclass
class Ops:
    """County A (school, staff, a family, a dispute) and county B's bureau."""

    school: School
    other_school: School
    season: Season
    admin: User
    colleague: User
    teacher: User
    other_admin: User
    guardian: Guardian
    child: Child
    registration: Registration
    requester: User
    dispute: IdentityDispute

    @property
    def names(self) -> dict[str, str]:
        """Usernames by role in the tests."""
        return {"admin": str(self.admin.username), "colleague": str(self.colleague.username),
                "teacher": str(self.teacher.username),
                "other_admin": str(self.other_admin.username)}


def build_ops() -> Ops:
    """The two counties (sample data)."""
    tag = uuid.uuid4().hex[:6]
    county, other = make_authority(name="临县教育局（示例）"), make_authority()
    town = make_region(county, name="临泉镇")
    village = make_region(county, level=RegionLevel.VILLAGE, parent=town, name="东关村（示例）")
    school = make_school(county, zone=[village], name="临泉镇第一小学（示例）")
    other_school = make_school(other, name="外县小学（示例）")
    season = make_season(county, year=utcnow().year)
    admin = make_staff(county, username=f"ops-admin-{tag}", display_name="刘主任")
    colleague = make_staff(county, username=f"ops-colleague-{tag}", display_name="陈科长")
    teacher = make_staff(county, school=school, username=f"ops-teacher-{tag}",
                         display_name="王老师")
    other_admin = make_staff(other, username=f"ops-other-{tag}")
    parent = make_parent()
    guardian = make_guardian(parent, name="张示例", phone="13900000042",
                             id_number=make_id_number(dt.date(1986, 3, 3), 931))
    child = make_child(guardian, village, name="张小明")
    registration = make_registration(season, child, school)
    requester = make_parent()
    dispute = IdentityDispute(authority_id=county.id, requester_user_id=requester.id,
                              guardian_id=guardian.id, claimed_name="张示例",
                              note="换了手机，原微信号无法登录")
    db.session.add(dispute)
    db.session.flush()
    return Ops(school, other_school, season, admin, colleague, teacher, other_admin, guardian,
               child, registration, requester, dispute)


def dead_letter(job_type: str, payload: dict[str, Any] | str, *, stream: str = JOBS,
                reason: str = "RuntimeError", attempts: int = 5) -> str:
    """A dead letter as the worker leaves one: the message, why, when, after how many tries."""
    original = f"{int(time.time() * 1000) - 60_000}-0"  # its id on the stream, a minute ago
    body = payload if isinstance(payload, str) else json.dumps(payload)
    message_id = redis_store.client.xadd(dead_letter_key(stream), {
        "type": job_type, "payload": body, "original_id": original, "reason": reason,
        "failed_at": str(int(time.time())), "attempts": str(attempts)})
    return message_id.decode() if isinstance(message_id, bytes) else str(message_id)


def submission_dead_letter(ops: Ops) -> str:
    """A registration submission of county A that kept failing."""
    return dead_letter("registration.submit", {
        "ticket": "Tdeadletter000001", "season_id": ops.season.id, "school_id": ops.school.id,
        "child_id": ops.child.id, "user_id": ops.guardian.user_id, "upload_ids": [],
        "basis": "hukou"}, stream=INTAKE, reason="RuntimeError", attempts=5)


def add_notice(ops: Ops, status: NoticeStatus, *, template: str = "review_result",
               days_ago: int = 0, error: str | None = None, child: str = "张*明") -> Notice:
    """A notice to the family, as the outbox holds it after the sender."""
    created = utcnow() - dt.timedelta(days=days_ago)
    notice = Notice(user_id=ops.guardian.user_id, template_key=template,
                    data={"school": ops.school.name, "child": child, "result": "审核通过",
                          "note": ""},
                    dedupe_key=f"ops-test:{uuid.uuid4().hex}", status=status,
                    attempts=0 if status is NoticeStatus.NOT_SUBSCRIBED else 1,
                    last_error="家长未订阅此类通知，未发送微信消息，仅在站内信显示"
                    if status is NoticeStatus.NOT_SUBSCRIBED else error,
                    created_at=created,
                    sent_at=created if status is NoticeStatus.SENT else None)
    db.session.add(notice)
    db.session.flush()
    return notice
