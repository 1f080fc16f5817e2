"""Staff scope, endpoint by endpoint: every role against every staff endpoint that names an
object, a school or a season, on one small world (tests/scope_world.py).

The rule (BRIEF: children's data protected; backend/accounts/scope.py): school staff see
their own school only; a bureau admin sees the schools, seasons and records of their own
education authority; anything outside the caller's scope answers 404 — never 403, never the
data. Parents get what the role check gives them on staff endpoints (403 FORBIDDEN).

Each row of CASES is one request about school A1's objects (or authority A's) and the status
each caller must get. On top of the status, for every caller outside the scope:

* the response shows nothing of A1's: no string only A1's data contains (the family's
  surname 冼 in any masking, A1's school code, its document ids, tickets, commitments, its
  staff's username) — in JSON, in an .xlsx sheet, in an HTML page;
* a list shows no rows at all (nothing else in the world belongs to A2 or to authority B);
* the database is unchanged (every table but the audit log and the count snapshots).

and for the callers inside it, a list does show A1's rows (so "empty" proves something).
In-scope calls that change state are only asked not to be refused (NOT_REFUSED: not 401,
403, 404 nor 5xx) where the action's own outcome (409 for a published assignment …) is not
what this table is about.

The world is built once for the module, inside one outer transaction on one connection
(overriding conftest's `connection`); each test runs in a savepoint of it that is rolled back
afterwards, and Redis is put back to the world's snapshot after each test (overriding
conftest's `_clean_redis_and_simulator`), so every row starts from the same world.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, select

from backend.core.db import Base, db
from backend.core.redis import redis_store
from tests.factories import STAFF_PASSWORD
from tests.scope_world import (
    ADMIN_A,
    ADMIN_B,
    CALLERS,
    PARENT,
    STAFF_A1,
    STAFF_A2,
    World,
    build_world,
    png,
    redis_restore,
    redis_snapshot,
)

API = "/api/v1"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NOT_REFUSED = "not refused"  # in scope: any answer but 401/403/404/5xx
OUTSIDERS = (PARENT, STAFF_A2, ADMIN_B)
# Tables an out-of-scope request may touch: its audit trail and the count snapshots.
UNWATCHED_TABLES = {"audit_events", "registration_counts", "registration_count_snapshots",
                    "deletion_logs"}


# --- the table -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One request (templates filled from the world's ids) and each caller's status."""

    method: str
    path: str
    expect: dict[str, int | str]
    body: Any = None
    upload: bool = False  # multipart with one PNG `file`
    console: bool = False  # the staff console page, signed in by the web session cookie
    listing: bool = False  # a list: empty for outsiders, A1's rows for `shows`
    own_rows: bool = False  # outsiders' lists may hold their own rows (never A1's markers)
    shows: tuple[str, ...] = (STAFF_A1, ADMIN_A)
    outsiders: tuple[str, ...] = OUTSIDERS
    totals_zero: bool = False  # counts: outsiders see zero registrations
    no_a_actors: bool = False  # audit events: outsiders see none by authority A's staff
    variant: str = ""  # tells apart two rows of one method and path in the test ids

    @property
    def label(self) -> str:
        """The path as the test ids show it (without /api/v1/)."""
        path = self.path.removeprefix(API + "/").lstrip("/")
        return f"{path} ({self.variant})" if self.variant else path


def scoped(method: str, path: str, *, staff: int | str = 200, admin: int | str | None = None,
           **kw: Any) -> Case:
    """An object of school A1: A1's staff and authority A's bureau may; A2's and B's not."""
    return Case(method, path, {PARENT: 403, STAFF_A1: staff, STAFF_A2: 404,
                               ADMIN_A: staff if admin is None else admin, ADMIN_B: 404}, **kw)


def bureau(method: str, path: str, *, admin: int | str = 200, **kw: Any) -> Case:
    """A bureau-only endpoint about authority A's object: school staff are refused by role."""
    return Case(method, path, {PARENT: 403, STAFF_A1: 403, STAFF_A2: 403, ADMIN_A: admin,
                               ADMIN_B: 404}, **kw)


def listing(method: str, path: str, *, a2: int = 200, b: int = 200, staff: int = 200,
            admin: int = 200, **kw: Any) -> Case:
    """A list in the caller's scope: A1's rows for A1 and A, none for A2 and B."""
    return Case(method, path, {PARENT: 403, STAFF_A1: staff, STAFF_A2: a2, ADMIN_A: admin,
                               ADMIN_B: b}, listing=True, **kw)


def bureau_listing(method: str, path: str, *, b: int = 200, **kw: Any) -> Case:
    """A bureau-only list."""
    return Case(method, path, {PARENT: 403, STAFF_A1: 403, STAFF_A2: 403, ADMIN_A: 200,
                               ADMIN_B: b}, listing=True, shows=(ADMIN_A,), **kw)


def crossed(method: str, path: str, *, staff: int = 404, **kw: Any) -> Case:
    """Authority B's season with school A1: in nobody's scope. B's bureau owns the season
    (so the school check alone must refuse it), A's bureau owns the school (so the season
    check must)."""
    return Case(method, path, {PARENT: 403, STAFF_A1: staff, STAFF_A2: staff, ADMIN_A: 404,
                               ADMIN_B: 404}, outsiders=CALLERS, variant="B's season", **kw)


REVIEW = {"decision": "approve", "expected_status": "approved"}
SLOT = {"season_id": "{sa}", "school": "{a1_code}", "starts_at": "2099-09-01T09:00:00",
        "ends_at": "2099-09-01T10:00:00", "place": "礼堂", "capacity": 5}
REASON = {"reason": "范围测试"}
# A family entered at A1's counter (valid in every field, so the scope decides).
COUNTER_ENTRY = {
    "guardian": {"name": "冼代报", "id_number": "141124198005069176", "relation": "grandparent"},
    "child": {"name": "冼代小", "id_number": "141124202003019190",
              "hukou": {"region_code": "{village_a}"}},
    "school_code": "{a1_code}", "basis": "hukou", "documents_checked": True,
    "guardian_consent_given": True,
}
NOTE = {"note": "范围测试"}

CASES: list[Case] = [
    # --- reviews -------------------------------------------------------------------------
    listing("GET", f"{API}/staff/registrations"),
    listing("GET", f"{API}/staff/registrations?q=冼"),
    listing("GET", f"{API}/staff/registrations?school={{a1_code}}", a2=404, b=404),
    listing("GET", f"{API}/staff/registrations?school={{a1}}", a2=404, b=404),
    # Authority A's town: A2's staff may filter by it (nothing of theirs there), B may not.
    listing("GET", f"{API}/staff/registrations?town={{town_a}}", b=404),
    scoped("GET", f"{API}/staff/registrations/{{r1}}"),
    scoped("GET", f"{API}/staff/registrations/{{r1}}/uploads/{{u1}}"),
    scoped("POST", f"{API}/staff/registrations/{{r1}}/review", body=REVIEW, staff=NOT_REFUSED),
    listing("GET", f"{API}/staff/registrations?verified=all", shows=()),
    # 批量通过 (all verified): another school's or county's filter is 404; named ids outside
    # the scope are skipped as not found, like ids that do not exist.
    scoped("POST", f"{API}/admin/registrations/batch-approve",
           body={"verified": "all", "school": "{a1_code}"}),
    Case("POST", f"{API}/admin/registrations/batch-approve",
         {PARENT: 403, STAFF_A1: 200, STAFF_A2: 200, ADMIN_A: 200, ADMIN_B: 200},
         body={"verified": "all", "items": [{"id": "{r1}", "version": 1}]},
         variant="named ids"),
    # The console's page of one registration (web session cookie; a parent has none).
    Case("GET", "/console/reviews/{r1}", {PARENT: 302, STAFF_A1: 200, STAFF_A2: 404,
                                          ADMIN_A: 200, ADMIN_B: 404}, console=True),
    # --- exports -------------------------------------------------------------------------
    listing("GET", f"{API}/staff/registrations/export.xlsx"),
    listing("GET", f"{API}/staff/registrations/export.xlsx?school={{a1_code}}", a2=404, b=404),
    Case("GET", f"{API}/staff/registrations/export.xlsx?full=true",
         {PARENT: 403, STAFF_A1: 403, STAFF_A2: 403, ADMIN_A: 200, ADMIN_B: 200},
         listing=True, shows=(ADMIN_A,)),
    bureau("GET", f"{API}/admin/student-registry.xlsx?season_id={{sa}}&school_id={{a1}}"),
    bureau("GET", f"{API}/admin/student-registry.xlsx?season_id={{sa}}"),
    # --- counts --------------------------------------------------------------------------
    listing("GET", f"{API}/admin/stats?season={{sa}}", b=404, totals_zero=True),
    listing("GET", f"{API}/admin/stats?season={{sa}}&by=status", b=404, totals_zero=True,
            shows=()),
    listing("GET", f"{API}/admin/stats?season={{sa}}&by=town", b=404, totals_zero=True,
            shows=()),
    listing("GET", f"{API}/admin/stats", totals_zero=True),
    # --- seat plans, tiers ---------------------------------------------------------------
    # Every school's plan of the caller's scope: A2's staff see A2's own.
    listing("GET", f"{API}/admin/seat-plans?season_id={{sa}}", b=404, own_rows=True),
    bureau("PUT", f"{API}/admin/seat-plans/{{sa}}/{{a1}}", body={"classes": 2, "class_size": 40},
           admin=NOT_REFUSED),
    scoped("GET", f"{API}/admin/priority-tiers/{{sa}}/{{a1}}"),
    bureau("PUT", f"{API}/admin/priority-tiers/{{sa}}/{{a1}}", admin=NOT_REFUSED,
           body={"tiers": [{"key": "others", "label": "其他", "rule": {}}]}),
    # --- seasons: the bureau's set-up ------------------------------------------------------
    # B's bureau lists B's own season, none of A's.
    Case("GET", f"{API}/admin/seasons",
         {PARENT: 403, STAFF_A1: 403, STAFF_A2: 403, ADMIN_A: 200, ADMIN_B: 200},
         listing=True, shows=(), own_rows=True),
    bureau("GET", f"{API}/admin/seasons/{{sa}}"),
    # B's bureau copying A's season (its plans and tiers) into a season of its own.
    bureau("POST", f"{API}/admin/seasons", admin=201,
           body={"year": 2099, "name": "范围测试招生季", "copy_from_season_id": "{sa}"}),
    bureau("PATCH", f"{API}/admin/seasons/{{sa}}", body={"name": "范围测试招生季"}),
    bureau("PUT", f"{API}/admin/seasons/{{sa}}/phases", body={"phases": []}),
    bureau("POST", f"{API}/admin/seasons/{{sa}}/publish", admin=409),
    bureau("POST", f"{API}/admin/seasons/{{sa}}/archive"),
    # --- lotteries -----------------------------------------------------------------------
    bureau("POST", f"{API}/admin/lotteries", admin=NOT_REFUSED,
           body={"season_id": "{sa}", "school_id": "{a1}", "practice": True,
                 "public_value_source": "范围测试的公开随机数来源"}),
    listing("GET", f"{API}/admin/lotteries?season_id={{sa}}", b=404),
    listing("GET", f"{API}/admin/lottery-schools?season_id={{sa}}", b=404, own_rows=True),
    listing("GET", f"{API}/admin/lotteries?season_id={{sa}}&school_id={{a1}}", a2=404, b=404),
    scoped("GET", f"{API}/admin/lotteries/{{lottery}}"),
    scoped("GET", f"{API}/admin/lotteries/{{lottery}}/evidence.json"),
    bureau("POST", f"{API}/admin/lotteries/{{lottery}}/draw", body={"public_value": "1 2 3"},
           admin=NOT_REFUSED),
    bureau("POST", f"{API}/admin/lotteries/{{lottery}}/cancel", body=REASON, admin=NOT_REFUSED),
    # --- offers, placement, published lists ---------------------------------------------
    listing("GET", f"{API}/admin/offers?season_id={{sa}}", b=404),
    listing("GET", f"{API}/admin/offers?season_id={{sa}}&school_id={{a1}}", a2=404, b=404),
    bureau("POST", f"{API}/admin/offers/{{o2}}/withdraw", body=REASON, admin=NOT_REFUSED),
    bureau("POST", f"{API}/admin/offers/expire-overdue",
           body={"season_id": "{sa}", "school_id": "{a1}"}),
    bureau_listing("GET", f"{API}/admin/unplaced?season_id={{sa}}", b=404),
    scoped("GET", f"{API}/admin/waitlist?season_id={{sa}}&school_id={{a1}}"),
    bureau_listing("GET", f"{API}/admin/admitted-lists?season_id={{sa}}", b=404),
    bureau("POST", f"{API}/admin/placements", admin=NOT_REFUSED,
           body={"registration_id": "{r1}", "school_id": "{a1}", "reason": "统筹安排"}),
    # Authority B's bureau placing A's child at its own school; A's bureau at B's school.
    Case("POST", f"{API}/admin/placements",
         {PARENT: 403, STAFF_A1: 403, STAFF_A2: 403, ADMIN_A: 404, ADMIN_B: 404},
         body={"registration_id": "{r1}", "school_id": "{b1}", "reason": "统筹安排"},
         outsiders=(*OUTSIDERS, ADMIN_A), variant="at B1"),
    bureau("POST", f"{API}/admin/admitted-lists", body={"season_id": "{sa}", "school_id": "{a1}"}),
    # --- on site -------------------------------------------------------------------------
    scoped("POST", f"{API}/staff/onsite/slots", body=SLOT, staff=201),
    listing("GET", f"{API}/staff/onsite/slots"),
    listing("GET", f"{API}/staff/onsite/slots?season_id={{sa}}", b=404),
    listing("GET", f"{API}/staff/onsite/slots?school={{a1_code}}", a2=404, b=404),
    scoped("PATCH", f"{API}/staff/onsite/slots/{{s2}}", body={"capacity": 12}),
    scoped("DELETE", f"{API}/staff/onsite/slots/{{s2}}", staff=204),
    scoped("GET", f"{API}/staff/onsite/slots/{{s1}}/bookings"),
    scoped("POST", f"{API}/staff/onsite/bookings", staff=201,
           body={"registration_id": "{r3}", "slot_id": "{s2}"}),
    # By design another school's ticket is named as such (the family is at the wrong gate):
    # 409 TICKET_OTHER_SCHOOL, with nothing of the booking in it; bureau admins do not check in.
    Case("POST", f"{API}/staff/checkins",
         {PARENT: 403, STAFF_A1: 201, STAFF_A2: 409, ADMIN_A: 403, ADMIN_B: 403},
         body={"code": "{ticket2}"}),
    listing("GET", f"{API}/staff/onsite/no-shows"),
    listing("GET", f"{API}/staff/onsite/no-shows?season_id={{sa}}", b=404),
    listing("GET", f"{API}/staff/onsite/no-shows?slot_id={{s1}}"),
    listing("GET", f"{API}/staff/onsite/no-shows?school={{a1_code}}", a2=404, b=404),
    listing("GET", f"{API}/staff/onsite/admitted?season_id={{sa}}&school={{a1_code}}", a2=404,
            b=404),
    # --- classes -------------------------------------------------------------------------
    scoped("POST", f"{API}/staff/classes/together-requests", staff=NOT_REFUSED,
           body={"season_id": "{sa}", "school": "{a1_code}", "registration_ids": ["{r2}", "{r3}"]}),
    # A2's staff naming A1's registrations for their own school.
    Case("POST", f"{API}/staff/classes/together-requests",
         {PARENT: 403, STAFF_A1: NOT_REFUSED, STAFF_A2: 404, ADMIN_A: 422, ADMIN_B: 422},
         body={"season_id": "{sa}", "registration_ids": ["{r2}", "{r3}"]},
         variant="no school named"),
    listing("GET", f"{API}/staff/classes/together-requests?season_id={{sa}}&school={{a1_code}}",
            a2=404, b=404),
    listing("GET", f"{API}/staff/classes/together-requests?season_id={{sa}}", admin=422, b=422,
            shows=(STAFF_A1,)),
    scoped("DELETE", f"{API}/staff/classes/together-requests/{{tr1}}", staff=NOT_REFUSED),
    scoped("POST", f"{API}/staff/classes/assignments", staff=NOT_REFUSED,
           body={"season_id": "{sa}", "school": "{a1_code}", "scope": "confirmed",
                 "public_value_source": "范围测试的公开随机数来源"}),
    listing("GET", f"{API}/staff/classes/assignments"),
    listing("GET", f"{API}/staff/classes/assignments?season_id={{sa}}", b=404),
    listing("GET", f"{API}/staff/classes/assignments?school={{a1_code}}", a2=404, b=404),
    scoped("GET", f"{API}/staff/classes/assignments/{{ca1}}"),
    scoped("GET", f"{API}/staff/classes/assignments/{{ca1}}/pupils"),
    scoped("GET", f"{API}/staff/classes/assignments/{{ca1}}/corrections"),
    scoped("POST", f"{API}/staff/classes/assignments/{{ca1}}/draw", body={"public_value": "1 2"},
           staff=NOT_REFUSED),
    scoped("POST", f"{API}/staff/classes/assignments/{{ca1}}/cancel", body=REASON,
           staff=NOT_REFUSED),
    bureau("POST", f"{API}/staff/classes/assignments/{{ca1}}/corrections", admin=NOT_REFUSED,
           body={"registration_id": "{r2}", "to_class": 1, "reason_code": "data_error"}),
    # --- announcements -------------------------------------------------------------------
    scoped("POST", f"{API}/staff/announcements", staff=201,
           body={"school_code": "{a1_code}", "category": "other", "title": "范围测试公告",
                 "body": "范围测试"}),
    listing("GET", f"{API}/staff/announcements"),
    listing("GET", f"{API}/staff/announcements?school={{a1_code}}"),
    # The county's own announcements are its bureau's: not A1's staff's either.
    Case("GET", f"{API}/staff/announcements?level=county",
         {PARENT: 403, STAFF_A1: 200, STAFF_A2: 200, ADMIN_A: 200, ADMIN_B: 200},
         listing=True, shows=(ADMIN_A,), outsiders=(*OUTSIDERS, STAFF_A1)),
    scoped("GET", f"{API}/staff/announcements/{{an1}}"),
    # The county's own announcement: its bureau only, not even a school of the county.
    Case("GET", f"{API}/staff/announcements/{{anc}}",
         {PARENT: 403, STAFF_A1: 404, STAFF_A2: 404, ADMIN_A: 200, ADMIN_B: 404},
         outsiders=(*OUTSIDERS, STAFF_A1)),
    scoped("PATCH", f"{API}/staff/announcements/{{an1}}", body={"title": "范围测试改标题"}),
    scoped("POST", f"{API}/staff/announcements/{{an1}}/publish", staff=NOT_REFUSED),
    scoped("POST", f"{API}/staff/announcements/{{an1}}/withdraw", body=NOTE, staff=NOT_REFUSED),
    bureau("POST", f"{API}/staff/announcements/{{an1}}/release", body=NOTE, admin=NOT_REFUSED),
    bureau("POST", f"{API}/staff/announcements/{{an1}}/reject", body=NOTE, admin=NOT_REFUSED),
    scoped("POST", f"{API}/staff/announcements/{{an1}}/attachments", upload=True, staff=201),
    scoped("GET", f"{API}/staff/announcements/{{an1}}/attachments/{{an1_att}}"),
    scoped("DELETE", f"{API}/staff/announcements/{{an1}}/attachments/{{an1_att}}"),
    # --- complaints: the assignee (A1's staff) and the bureau ----------------------------
    listing("GET", f"{API}/staff/complaints", shows=(STAFF_A1,)),
    scoped("GET", f"{API}/staff/complaints/{{cp1}}"),
    scoped("POST", f"{API}/staff/complaints/{{cp1}}/answer", body={"answer": "已核查，无此事。"}),
    scoped("GET", f"{API}/staff/complaints/{{cp1}}/attachments/{{u2}}"),
    bureau_listing("GET", f"{API}/admin/complaints"),
    bureau_listing("GET", f"{API}/admin/complaints?school={{a1_code}}"),
    bureau("GET", f"{API}/admin/complaints/{{cp1}}"),
    bureau("POST", f"{API}/admin/complaints/{{cp1}}/assign",
           body={"assignee_user_id": "{staff_a1_id}"}),
    # B's bureau taking A's complaint for itself; A's bureau handing it to B's.
    Case("POST", f"{API}/admin/complaints/{{cp1}}/assign",
         {PARENT: 403, STAFF_A1: 403, STAFF_A2: 403, ADMIN_A: 422, ADMIN_B: 404},
         body={"assignee_user_id": "{admin_b_id}"}, outsiders=(*OUTSIDERS, ADMIN_A),
         variant="to B's bureau"),
    bureau("POST", f"{API}/admin/complaints/{{cp1}}/answer", body={"answer": "已核查，无此事。"}),
    bureau("POST", f"{API}/admin/complaints/{{cp1}}/close", body=NOTE, admin=NOT_REFUSED),
    bureau("GET", f"{API}/admin/complaints/{{cp1}}/attachments/{{u2}}"),
    # --- identity: disputes, the audited reveal, documents -------------------------------
    bureau_listing("GET", f"{API}/admin/identity-disputes"),
    bureau("POST", f"{API}/admin/identity-disputes/{{d1}}/resolve",
           body={"decision": "reject", "note": "范围测试"}),
    scoped("POST", f"{API}/staff/children/{{c1}}/reveal", body={"reason": "范围测试核对"}),
    # The family owns the document: it may read it too.
    Case("GET", f"{API}/uploads/{{u1}}",
         {PARENT: 200, STAFF_A1: 200, STAFF_A2: 404, ADMIN_A: 200, ADMIN_B: 404},
         outsiders=(STAFF_A2, ADMIN_B)),
    Case("GET", f"{API}/uploads/{{u1}}/meta",
         {PARENT: 200, STAFF_A1: 200, STAFF_A2: 404, ADMIN_A: 200, ADMIN_B: 404},
         outsiders=(STAFF_A2, ADMIN_B)),
    # A complaint's attachment is read through the complaint (below), never as a document.
    Case("GET", f"{API}/uploads/{{u2}}/meta",
         {PARENT: 200, STAFF_A1: 404, STAFF_A2: 404, ADMIN_A: 404, ADMIN_B: 404},
         outsiders=(STAFF_A1, STAFF_A2, ADMIN_A, ADMIN_B)),
    # An announcement's attachment is read through the announcement (above), never as a
    # document, not even by the staff member who uploaded it.
    Case("GET", f"{API}/uploads/{{an1_att}}/meta",
         {PARENT: 404, STAFF_A1: 404, STAFF_A2: 404, ADMIN_A: 404, ADMIN_B: 404},
         outsiders=CALLERS),
    # --- 代报名: registrations entered at the counter ------------------------------------
    scoped("POST", f"{API}/staff/proxy-registrations", body=COUNTER_ENTRY, staff=NOT_REFUSED),
    listing("GET", f"{API}/staff/proxy-registrations"),
    listing("GET", f"{API}/staff/proxy-registrations?claimed=true"),
    listing("GET", f"{API}/staff/proxy-registrations?school={{a1_code}}", a2=404, b=404),
    scoped("GET", f"{API}/staff/proxy-registrations/tickets/{{r1_ticket}}"),
    # R1's family has claimed it: a new code is refused (409), never out of scope.
    scoped("POST", f"{API}/staff/proxy-registrations/{{r1}}/claim-code", staff=NOT_REFUSED),
    # --- accounts and the audit log ------------------------------------------------------
    # B's bureau sees B's accounts (its own), none of A's.
    Case("GET", f"{API}/admin/staff-accounts",
         {PARENT: 403, STAFF_A1: 403, STAFF_A2: 403, ADMIN_A: 200, ADMIN_B: 200},
         listing=True, shows=(ADMIN_A,), own_rows=True),
    bureau("POST", f"{API}/admin/staff-accounts", admin=201,
           body={"username": "scope-new-staff", "password": "Correct-horse-43",
                 "role": "school_staff", "school_code": "{a1_code}"}),
    Case("GET", f"{API}/admin/audit-events",
         {PARENT: 403, STAFF_A1: 403, STAFF_A2: 403, ADMIN_A: 200, ADMIN_B: 200},
         no_a_actors=True),
    bureau("GET", f"{API}/admin/audit-events?child_id={{c1}}"),
    bureau("GET", f"{API}/admin/audit-events?actor_user_id={{staff_a1_id}}"),
    bureau("PATCH", f"{API}/admin/staff-accounts/{{staff_a1_id}}",
           body={"display_name": "范围测试"}),
    bureau("POST", f"{API}/admin/staff-accounts/{{staff_a1_id}}/reset-password", body={}),
    # --- operations: dead letters, notice delivery ---------------------------------------
    bureau_listing("GET", f"{API}/admin/dead-letters"),
    bureau("POST", f"{API}/admin/dead-letters/%7Bintake%7D/{{dl1}}/replay"),
    bureau("GET", f"{API}/admin/queue-messages/%7Bintake%7D/{{dl1_original}}"),
    bureau_listing("GET", f"{API}/admin/notices"),
    bureau_listing("GET", f"{API}/admin/notices?status=pending"),
    bureau("GET", f"{API}/admin/notices?school={{a1_code}}", listing=True, shows=(ADMIN_A,)),
    bureau("GET", f"{API}/admin/notices?q={{r1}}", listing=True, shows=(ADMIN_A,)),
    # --- authority B's season with school A1 (each check must hold on its own) -------------
    crossed("PUT", f"{API}/admin/seat-plans/{{sb}}/{{a1}}", staff=403,
            body={"classes": 2, "class_size": 40}),
    crossed("GET", f"{API}/admin/priority-tiers/{{sb}}/{{a1}}"),
    crossed("PUT", f"{API}/admin/priority-tiers/{{sb}}/{{a1}}", staff=403,
            body={"tiers": [{"key": "others", "label": "其他", "rule": {}}]}),
    crossed("POST", f"{API}/admin/lotteries", staff=403,
            body={"season_id": "{sb}", "school_id": "{a1}", "practice": True,
                  "public_value_source": "范围测试的公开随机数来源"}),
    crossed("GET", f"{API}/admin/lotteries?season_id={{sb}}&school_id={{a1}}"),
    crossed("GET", f"{API}/admin/offers?season_id={{sb}}&school_id={{a1}}"),
    crossed("POST", f"{API}/admin/offers/expire-overdue", staff=403,
            body={"season_id": "{sb}", "school_id": "{a1}"}),
    crossed("POST", f"{API}/admin/admitted-lists", staff=403,
            body={"season_id": "{sb}", "school_id": "{a1}"}),
    crossed("GET", f"{API}/admin/student-registry.xlsx?season_id={{sb}}&school_id={{a1}}",
            staff=403),
    crossed("POST", f"{API}/staff/onsite/slots", body={**SLOT, "season_id": "{sb}"}),
    crossed("GET", f"{API}/staff/onsite/slots?season_id={{sb}}&school={{a1_code}}"),
    crossed("GET", f"{API}/staff/onsite/no-shows?season_id={{sb}}&school={{a1_code}}"),
    crossed("POST", f"{API}/staff/classes/together-requests",
            body={"season_id": "{sb}", "school": "{a1_code}",
                  "registration_ids": ["{r2}", "{r3}"]}),
    crossed("GET", f"{API}/staff/classes/together-requests?season_id={{sb}}&school={{a1_code}}"),
    crossed("POST", f"{API}/staff/classes/assignments",
            body={"season_id": "{sb}", "school": "{a1_code}", "scope": "confirmed",
                  "public_value_source": "范围测试的公开随机数来源"}),
    crossed("GET", f"{API}/staff/classes/assignments?season_id={{sb}}&school={{a1_code}}"),
]

# Staff endpoints without an object, school or season to be out of scope of.
NOT_COVERED = {
    "accounts.me": "the caller's own account",
    "accounts.logout": "the caller's own session",
    "reviews.list_review_reasons": "a fixed reference list",
    "classes.list_correction_reasons": "a fixed reference list",
    "schools_admin.import_template": "a fixed CSV template",
    "proxy.upload_scan": "the caller's own new document, handed over only by an entry the "
                         "caller may make (itself in the table)",
    "schools_admin.import_catalogue": "imports into the caller's own authority only; the file "
                                      "names no other authority's objects",
}


def _params() -> list[Any]:
    params = []
    for case in CASES:
        for caller in CALLERS:
            params.append(pytest.param(case, caller, id=f"{case.method} {case.label} as {caller}"))
    return params


# --- the world: once per module, a savepoint per test ------------------------------------------


@pytest.fixture(scope="module")
def _world(engine: Engine, app: Flask, wechat_sim: Any) -> Iterator[tuple[Connection, World,
                                                                           list[Any]]]:
    conn = engine.connect()
    outer = conn.begin()
    db.bind_to(conn)
    try:
        world = build_world(app, app.test_client(), wechat_sim)
        yield conn, world, redis_snapshot(redis_store.client, redis_store.prefix)
    finally:
        db.session.remove()
        if outer.is_active:
            outer.rollback()
        conn.close()
        db.bind_to(engine)
        redis_restore(redis_store.client, redis_store.prefix, [])
        wechat_sim.reset()


@pytest.fixture()
def connection(_world: tuple[Connection, World, list[Any]]) -> Iterator[Connection]:
    """Overrides conftest's: the module's connection, in a savepoint rolled back afterwards."""
    conn = _world[0]
    db.bind_to(conn)
    savepoint = conn.begin_nested()
    try:
        yield conn
    finally:
        db.session.remove()
        if savepoint.is_active:
            savepoint.rollback()


@pytest.fixture(autouse=True)
def _clean_redis_and_simulator(_world: tuple[Connection, World, list[Any]]) -> Iterator[None]:
    """Overrides conftest's: after each test Redis is the world's again (its sessions too)."""
    yield
    redis_restore(redis_store.client, redis_store.prefix, _world[2])


@pytest.fixture()
def world(_world: tuple[Connection, World, list[Any]]) -> World:
    """The world's ids, tokens and markers."""
    return _world[1]


# --- helpers ---------------------------------------------------------------------------------


def fill(template: Any, ids: dict[str, Any]) -> Any:
    """A template with the world's ids: "{r1}" alone becomes the id itself (an int)."""
    if isinstance(template, dict):
        return {k: fill(v, ids) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, ids) for v in template]
    if isinstance(template, str):
        if template.startswith("{") and template.endswith("}") and template[1:-1] in ids:
            return ids[template[1:-1]]
        return template.format(**ids)
    return template


def sign_in_to_console(client: FlaskClient, world: World, case: Case, caller: str) -> None:
    """Console pages: staff sign in as the login page does (the web session cookie)."""
    if case.console and caller != PARENT:  # a parent has no web session at all
        signed_in = client.post(f"{API}/auth/staff-login", json={
            "username": world.usernames[caller], "password": STAFF_PASSWORD,
            "web_session": True})
        assert signed_in.status_code == 200, signed_in.get_json()


def send(client: FlaskClient, world: World, case: Case, caller: str) -> Any:
    """The case's request as the caller (console pages: by the cookie alone)."""
    path = fill(case.path, world.ids)
    headers = {} if case.console else world.auth(caller)
    kwargs: dict[str, Any] = {}
    if case.upload:
        kwargs.update(data={"file": (io.BytesIO(png((90, 90, 90))), "scope.png")},
                      content_type="multipart/form-data")
    elif case.body is not None:
        kwargs["json"] = fill(case.body, world.ids)
    return client.open(path, method=case.method, headers=headers, **kwargs)


def visible_text(response: Any) -> str:
    """What a caller can read in a response: JSON, the cells of a sheet, an HTML page."""
    if response.is_json:
        return json.dumps(response.get_json(), ensure_ascii=False)
    if response.mimetype == XLSX:
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(response.data), read_only=True)
        return "\n".join(str(cell) for sheet in book.worksheets
                         for row in sheet.iter_rows(values_only=True) for cell in row
                         if cell is not None)
    if response.mimetype.startswith("text/"):
        return str(response.get_data(as_text=True))
    return ""  # a document's bytes: its status says whether it was served


def sheet_rows(response: Any) -> int:
    """Data rows of an .xlsx answer (below the header)."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(response.data), read_only=True)
    return sum(max(sheet.max_row or 0, 1) - 1 for sheet in book.worksheets)


def database(conn: Connection) -> dict[str, list[str]]:
    """Every row of every watched table, for 'nothing changed'."""
    return {name: sorted(repr(tuple(row)) for row in conn.execute(select(table)))
            for name, table in sorted(Base.metadata.tables.items())
            if name not in UNWATCHED_TABLES}


def changed(before: dict[str, list[str]], after: dict[str, list[str]]) -> list[str]:
    """Tables whose rows differ."""
    return [name for name in before if before[name] != after.get(name)]


# --- the tests -------------------------------------------------------------------------------


@pytest.mark.parametrize(("case", "caller"), _params())
def test_staff_scope(client: FlaskClient, connection: Connection, world: World, case: Case,
                     caller: str) -> None:
    """Each caller gets its status; outsiders see and change nothing of A1's."""
    expected = case.expect[caller]
    outsider = caller in case.outsiders
    sign_in_to_console(client, world, case, caller)
    before = database(connection) if outsider else None

    response = send(client, world, case, caller)
    status = response.status_code
    body = response.get_json(silent=True) if response.is_json else None
    if expected == NOT_REFUSED:
        assert status not in (401, 403, 404) and status < 500, (status, body)
    else:
        assert status == expected, (status, body)

    text = visible_text(response)
    if outsider:
        leaked = [m for m in world.markers if m in text]
        assert not leaked, f"{caller} sees A1's data {leaked}: {text[:500]}"
        assert before is not None
        assert not changed(before, database(connection)), "an out-of-scope request changed data"
        if status == 200 and case.listing and not (case.totals_zero or case.own_rows):
            if response.mimetype == XLSX:
                assert sheet_rows(response) == 0, "rows in another scope's export"
            else:
                assert isinstance(body, dict) and body.get("items") == [], body
        if status == 200 and case.totals_zero:
            assert isinstance(body, dict)
            assert body["totals"] == {"registrations": 0, "active": 0}, body
        if status == 200 and case.no_a_actors:
            assert isinstance(body, dict)
            actors = {item["actor_user_id"] for item in body["items"]}
            assert not actors & world.a_user_ids, "authority A's audit events shown to B"
    elif case.listing and status == 200 and caller in case.shows:
        # The list shows A1's rows to those who may see them: its emptiness elsewhere counts.
        assert any(m in text for m in world.markers), f"no A1 rows for {caller}: {text[:300]}"


def test_every_staff_endpoint_with_a_scope_is_in_the_table(app: Flask, world: World) -> None:
    """A new staff endpoint must join CASES (or NOT_COVERED, with the reason)."""
    adapter = app.url_map.bind("localhost")
    covered = {adapter.match(urlsplit(fill(c.path, world.ids)).path, method=c.method)[0]
               for c in CASES}
    staff_roles = {"school_staff", "bureau_admin"}
    staff_endpoints = {endpoint for endpoint, view in app.view_functions.items()
                       if staff_roles & set(getattr(view, "_api_roles", ()) or ())}
    missing = sorted(staff_endpoints - covered - set(NOT_COVERED))
    assert not missing, f"staff endpoints missing from the scope table: {missing}"
