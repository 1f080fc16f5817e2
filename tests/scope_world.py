"""A small two-county world for the staff-scope table (tests/test_staff_scope.py).

Authority A runs schools A1 and A2, authority B runs school B1; each has a season whose
registration window has closed. Everything the staff endpoints act on belongs to school A1
(or, for the county-level announcement and the identity dispute, to authority A):

* R1: a registration with an uploaded document, approved by A1's staff (a review event),
  not placed (the lottery was settled before it), the subject of a complaint; A1's staff
  entered it at the counter (代报名) and the family has since claimed it from WeChat;
* R2 and R3: siblings admitted to A1 by its (settled) lottery, offers confirmed by the
  family, a together request for them, a published class assignment; R2 booked in slot S1
  (since ended: a no-show with an entry ticket), R3 not booked; S2 is a later, empty slot;
* AN1: a draft announcement of A1 with an attachment; ANC: a draft of authority A itself;
* CP1: a complaint about R1 with an attachment, assigned to A1's staff; D1: an identity
  dispute about the family's guardian, with authority A; DL1: a dead-lettered submission
  of R1's ticket in A's season.

Objects are made the way the platform makes them wherever a public endpoint exists (the
lottery, offers, review, slots, booking, classes, announcements, complaint); only what no
endpoint creates (accounts, catalogue, the registrations themselves, the dispute, a slot in
the past) is written directly. Every name, title and text of A1's family carries the
surname 冼, which nothing else in the world uses: a response that shows any of it, masked
or not, contains "冼".
"""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import insert, update

from backend.core.db import commit, db, utcnow
from backend.core.jobs import INTAKE, dead_letter_key
from backend.core.redis import redis_store
from backend.identity.models import IdentityDispute
from backend.onsite.models import OnsiteSlot
from backend.registrations.models import (
    RegistrationEvent,
    RegistrationStatus,
    registration_uploads,
)
from backend.schools.models import RegionLevel
from tests.conftest import bearer
from tests.factories import (
    STAFF_PASSWORD,
    make_authority,
    make_child,
    make_guardian,
    make_id_number,
    make_parent,
    make_region,
    make_registration,
    make_school,
    make_season,
    make_seat_plan,
    make_staff,
)

PARENT, STAFF_A1, STAFF_A2, ADMIN_A, ADMIN_B = (
    "parent", "staff_a1", "staff_a2", "admin_a", "admin_b")
CALLERS = (PARENT, STAFF_A1, STAFF_A2, ADMIN_A, ADMIN_B)

SURNAME = "冼"  # only A1's family, school, announcements, complaint and dispute use it
PUBLIC_VALUE_SOURCE = "中国福利彩票双色球 2025年8月12日 第2025092期开奖号码（示例）"

Sim = Any  # tests.conftest.Simulator


@dataclass
class World:
    """Ids of the world's objects (for path templates), the callers' tokens, A1's markers."""

    ids: dict[str, Any]
    tokens: dict[str, str]
    usernames: dict[str, str]
    # Strings only A1's data (and authority A's own objects) contain.
    markers: list[str]
    # Users of authority A (its staff, its bureau): their audit events are A's.
    a_user_ids: set[int] = field(default_factory=set)

    def auth(self, caller: str) -> dict[str, str]:
        """The caller's Authorization header."""
        return bearer(self.tokens[caller])


def png(color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A small real PNG, as a phone uploads a photo of a document."""
    out = io.BytesIO()
    Image.new("RGB", (24, 18), color).save(out, "PNG")
    return out.getvalue()


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.get_json())
    return response.get_json()


@contextmanager
def _database(app: Flask) -> Iterator[None]:
    """An app context whose work is committed (into the module's outer transaction)."""
    with app.app_context():
        yield
        commit()


def _local(moment: dt.datetime) -> str:
    """A naive local (Asia/Shanghai) time, as the console sends slot times."""
    return moment.astimezone(dt.timezone(dt.timedelta(hours=8))).replace(
        tzinfo=None, microsecond=0).isoformat()


def build_world(app: Flask, client: FlaskClient, sim: Sim) -> World:
    """The world, made through `client` where an endpoint exists; ids and tokens only."""
    tag = uuid.uuid4().hex[:6]
    now = utcnow()
    ids: dict[str, Any] = {}
    users: dict[str, Any] = {}

    # --- catalogue, accounts, the family (no endpoint makes these) -------------------------
    with _database(app):
        authority_a, authority_b = make_authority(), make_authority()
        town_a = make_region(authority_a, name="示例镇")
        village_a = make_region(authority_a, level=RegionLevel.VILLAGE, parent=town_a,
                                name="示例村")
        town_b = make_region(authority_b, name="丙镇")
        make_region(authority_b, level=RegionLevel.VILLAGE, parent=town_b, name="丙村")
        a1 = make_school(authority_a, zone=[village_a], code=f"XA1{tag}",
                         name=f"冼家村第一小学{tag}")
        a2 = make_school(authority_a, zone=[village_a], code=f"XA2{tag}", name=f"示例乙小学{tag}")
        b1 = make_school(authority_b, code=f"XB1{tag}", name=f"示例丙小学{tag}")
        year = now.year + 1
        season_a = make_season(authority_a, year=year, opens=now - dt.timedelta(days=20),
                               closes=now - dt.timedelta(days=10))
        season_b = make_season(authority_b, year=year, opens=now - dt.timedelta(days=20),
                               closes=now - dt.timedelta(days=10))
        for season, school in ((season_a, a1), (season_a, a2), (season_b, b1)):
            make_seat_plan(season, school, classes=1, class_size=45)
        staff = {
            STAFF_A1: make_staff(authority_a, school=a1, username=f"xian-a1-{tag}"),
            STAFF_A2: make_staff(authority_a, school=a2, username=f"scope-a2-{tag}"),
            ADMIN_A: make_staff(authority_a, username=f"scope-bureau-a-{tag}"),
            ADMIN_B: make_staff(authority_b, username=f"scope-bureau-b-{tag}"),
        }
        parent = make_parent(openid=f"o-scope-{tag}")
        guardian = make_guardian(parent, name="冼示例", phone="13800000042",
                                 id_number=make_id_number(dt.date(1988, 4, 2), 911))
        birth = dt.date(year - 7, 10, 1)
        children = [make_child(guardian, village_a, name=f"冼甲{n}", birth=birth,
                               id_number=make_id_number(birth, 913 + 2 * i))
                    for i, n in enumerate("一二三")]
        # R2 and R3: approved before the lottery (R1 comes after it, see below).
        r2, r3 = (make_registration(season_a, child, a1, status=RegistrationStatus.APPROVED,
                                    ticket=f"T{uuid.uuid4().hex[:24]}")
                  for child in children[1:])
        requester = make_parent(openid=f"o-scope-req-{tag}")
        ids.update(sa=season_a.id, sb=season_b.id, a1=a1.id, a2=a2.id, b1=b1.id,
                   a1_code=a1.code, a2_code=a2.code, b1_code=b1.code, town_a=town_a.code,
                   village_a=village_a.code,
                   c1=children[0].id, c2=children[1].id, c3=children[2].id,
                   r2=r2.id, r3=r3.id, guardian=guardian.id, requester=requester.id)
        ids.update({f"{who}_id": user.id for who, user in staff.items()})
        users = {who: user.username for who, user in staff.items()}
        tickets = [r2.ticket, r3.ticket]
        a_user_ids = {staff[STAFF_A1].id, staff[STAFF_A2].id, staff[ADMIN_A].id}
        child_ids, authority_a_id, parent_openid = (
            [c.id for c in children], authority_a.id, parent.openid)

    # --- sign everyone in (the world's Redis state keeps these sessions) --------------------
    tokens = {who: _ok(client.post("/api/v1/auth/staff-login", json={
        "username": name, "password": STAFF_PASSWORD, "web_session": False}))["token"]
        for who, name in users.items()}
    tokens[PARENT] = _ok(client.post("/api/v1/auth/wechat-login", json={
        "code": sim.login_code(parent_openid)}))["token"]
    as_ = {who: bearer(token) for who, token in tokens.items()}

    # --- admission: A1's lottery (not oversubscribed: settled at once), offers confirmed ----
    lottery = _ok(client.post("/api/v1/admin/lotteries", headers=as_[ADMIN_A], json={
        "season_id": ids["sa"], "school_id": ids["a1"], "practice": False,
        "public_value_source": PUBLIC_VALUE_SOURCE}), 201)
    assert lottery["status"] == "settled", lottery
    ids["lottery"] = lottery["id"]
    offers = {o["registration_id"]: o["id"] for o in _ok(
        client.get("/api/v1/offers", headers=as_[PARENT]))["items"]}
    assert set(offers) == {ids["r2"], ids["r3"]}, offers
    for offer_id in offers.values():
        _ok(client.post(f"/api/v1/offers/{offer_id}/confirm", headers=as_[PARENT]))
    ids["o2"], ids["o3"] = offers[ids["r2"]], offers[ids["r3"]]

    # --- R1: registered with a document, then reviewed (approved) by A1's staff -------------
    u1 = _ok(client.post("/api/v1/uploads", headers=as_[PARENT], data={
        "kind": "hukou_book", "file": (io.BytesIO(png()), "hukou.png")},
        content_type="multipart/form-data"), 201)["upload_id"]
    with _database(app):
        from backend.identity.models import Child
        from backend.schools.models import School
        from backend.seasons.models import Season

        child = db.session.get(Child, child_ids[0])
        season_a1 = db.session.get(Season, ids["sa"])
        school_a1 = db.session.get(School, ids["a1"])
        assert child is not None and season_a1 is not None and school_a1 is not None
        r1 = make_registration(season_a1, child, school_a1, ticket=f"T{uuid.uuid4().hex[:24]}",
                               entered_by_user_id=ids["staff_a1_id"])
        r1.events.append(RegistrationEvent(status=RegistrationStatus.SUBMITTED,
                                           actor_user_id=child.guardian.user_id,
                                           actor_role="parent"))
        db.session.flush()
        db.session.execute(insert(registration_uploads).values(registration_id=r1.id,
                                                               upload_id=u1))
        ids.update(r1=r1.id, u1=u1, r1_ticket=r1.ticket)
        tickets.append(r1.ticket)
    reviewed = _ok(client.post(f"/api/v1/staff/registrations/{ids['r1']}/review",
                               headers=as_[STAFF_A1],
                               json={"decision": "approve", "expected_status": "submitted"}))
    assert reviewed["status"] == "approved", reviewed

    # --- on site: S1 (R2 booked, then the slot lies in the past), S2 later and empty ---------
    day = now + dt.timedelta(days=1)
    slots = [_ok(client.post("/api/v1/staff/onsite/slots", headers=as_[STAFF_A1], json={
        "season_id": ids["sa"], "starts_at": _local(day + dt.timedelta(days=n)),
        "ends_at": _local(day + dt.timedelta(days=n, hours=1)), "place": "冼家村小学礼堂",
        "capacity": 10}), 201)["id"] for n in (0, 1)]
    ids["s1"], ids["s2"] = slots
    booking = _ok(client.post("/api/v1/onsite/bookings", headers=as_[PARENT], json={
        "registration_id": ids["r2"], "slot_id": ids["s1"]}), 201)
    ids["booking2"] = booking["id"]
    with _database(app):
        db.session.execute(update(OnsiteSlot).where(OnsiteSlot.id == ids["s1"]).values(
            starts_at=now - dt.timedelta(hours=3), ends_at=now - dt.timedelta(hours=2)))
    ids["ticket2"] = _ok(client.get(f"/api/v1/onsite/bookings/{ids['booking2']}/ticket",
                                    headers=as_[PARENT]))["code"]

    # --- classes: the siblings' together request, then a committed and drawn assignment -----
    ids["tr1"] = _ok(client.post("/api/v1/staff/classes/together-requests",
                                 headers=as_[STAFF_A1], json={
                                     "season_id": ids["sa"], "note": "冼家双胞胎",
                                     "registration_ids": [ids["r2"], ids["r3"]]}), 201)["id"]
    assignment = _ok(client.post("/api/v1/staff/classes/assignments", headers=as_[STAFF_A1],
                                 json={"season_id": ids["sa"], "scope": "confirmed",
                                       "public_value_source": PUBLIC_VALUE_SOURCE}), 201)
    ids["ca1"] = assignment["id"]
    drawn = _ok(client.post(f"/api/v1/staff/classes/assignments/{ids['ca1']}/draw",
                            headers=as_[STAFF_A1], json={"public_value": "5 1 9"}))
    assert drawn["status"] == "published", drawn

    # --- announcements: A1's draft with an attachment, and the county's own draft -----------
    an1 = _ok(client.post("/api/v1/staff/announcements", headers=as_[STAFF_A1], json={
        "category": "other", "title": f"冼家村第一小学公告{tag}", "body": "冼校报名须知"}), 201)
    ids["an1"] = an1["id"]
    attached = _ok(client.post(f"/api/v1/staff/announcements/{ids['an1']}/attachments",
                               headers=as_[STAFF_A1],
                               data={"file": (io.BytesIO(png((10, 90, 200))), "plan.png")},
                               content_type="multipart/form-data"), 201)
    ids["an1_att"] = attached["attachments"][0]["upload_id"]
    anc = _ok(client.post("/api/v1/staff/announcements", headers=as_[ADMIN_A], json={
        "category": "policy", "title": f"冼县招生政策{tag}", "body": "冼县全县适用"}), 201)
    assert anc["level"] == "county", anc
    ids["anc"] = anc["id"]

    # --- a complaint about R1 with an attachment, assigned to A1's staff --------------------
    u2 = _ok(client.post("/api/v1/uploads", headers=as_[PARENT], data={
        "kind": "other", "file": (io.BytesIO(png((30, 160, 30))), "receipt.png")},
        content_type="multipart/form-data"), 201)["upload_id"]
    complaint = _ok(client.post("/api/v1/complaints", headers=as_[PARENT], json={
        "type": "complaint", "registration_id": ids["r1"], "anonymous": False,
        "text": "冼家反映：学校要求缴纳赞助费才肯受理报名。", "upload_ids": [u2]}), 201)
    ids.update(cp1=complaint["id"], u2=u2)
    _ok(client.post(f"/api/v1/admin/complaints/{ids['cp1']}/assign", headers=as_[ADMIN_A],
                    json={"assignee_user_id": ids["staff_a1_id"]}))

    # --- an identity dispute about the family's guardian (no endpoint for another number) ---
    with _database(app):
        dispute = IdentityDispute(authority_id=authority_a_id, requester_user_id=ids["requester"],
                                  guardian_id=ids["guardian"], claimed_name="冼示例",
                                  note="冼家申诉：证件被他人绑定")
        db.session.add(dispute)
        db.session.flush()
        ids["d1"] = dispute.id

    # --- a submission of A's season that kept failing (only the worker makes these) --------
    with _database(app):
        original = f"{int(now.timestamp() * 1000)}-0"
        dead = redis_store.client.xadd(dead_letter_key(INTAKE), {
            "type": "registration.submit", "original_id": original, "reason": "RuntimeError",
            "failed_at": str(int(now.timestamp())), "attempts": "5",
            "payload": json.dumps({"ticket": tickets[2], "season_id": ids["sa"],
                                   "school_id": ids["a1"], "child_id": ids["c1"]})})
        ids.update(dl1=dead.decode() if isinstance(dead, bytes) else str(dead),
                   dl1_original=original)

    markers = [SURNAME, ids["a1_code"], ids["u1"], ids["u2"], ids["an1_att"],
               lottery["commitment"], assignment["commitment"], users[STAFF_A1], *tickets]
    return World(ids=ids, tokens=tokens, usernames=users, markers=markers,
                 a_user_ids=a_user_ids)


def redis_snapshot(client: Any, prefix: str) -> list[tuple[bytes, int, bytes]]:
    """Every key under `prefix` as (key, ttl ms or 0, DUMP payload)."""
    out = []
    for key in client.scan_iter(match=prefix + "*", count=1000):
        payload = client.dump(key)
        if payload is not None:
            out.append((key, max(int(client.pttl(key)), 0), payload))
    return out


def redis_restore(client: Any, prefix: str, snapshot: list[tuple[bytes, int, bytes]]) -> None:
    """Drop every key under `prefix`, then put the snapshot back."""
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.delete(*keys)
    for key, ttl, payload in snapshot:
        client.restore(key, ttl, payload, replace=True)

