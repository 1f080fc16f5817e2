"""Locust users for scripts/bench_opening_hour (see docs/BENCHMARKS.md); not run on its own.

`locust -f scripts/_bench_locust.py --headless <UserClass>...` with the BENCH_* environment
variables scripts/bench_opening_hour sets. Every request is named by its step, so Locust's
statistics are per step; a failure is recorded as `<status> <error code>` (the API's stable
code), so failures count by status and code. The counts the benchmark checks afterwards (202s
given, tickets accepted, journeys finished) go to BENCH_OUT as JSON when the test stops.

- FamilyUser: one family's whole journey, as the mini-program makes it
  (miniprogram/src/services/endpoints.js): log in through the WeChat simulator, the current
  season, the schools, the zone lookup, add a child, upload the 户口簿 photo, submit, then
  poll the ticket every BENCH_POLL_SECONDS until it is accepted or refused. Then the next
  family from the pool arrives in its place.
- StaffUser: a school's staff member reading the live counts every few seconds.
- HealthUser, CatalogueUser, TicketUser, IntakeUser: one step alone, as fast as it goes (no
  wait), for the step's ceiling in the same run as /healthz.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from locust import FastHttpUser, between, constant, constant_pacing, events, task
from locust.exception import StopUser
from stdnum.cn import ric

ENV = os.environ
SIM_URL = ENV.get("BENCH_SIM_URL", "http://127.0.0.1:8001/")
AUTHORITY = ENV.get("BENCH_AUTHORITY", "bench")
TOWN = ENV.get("BENCH_TOWN", "")
VILLAGE = ENV.get("BENCH_VILLAGE", "")
SCHOOL = ENV.get("BENCH_SCHOOL", "")
AGE_CUTOFF = dt.date.fromisoformat(ENV.get("BENCH_AGE_CUTOFF", "2020-08-31"))
POLL_SECONDS = float(ENV.get("BENCH_POLL_SECONDS", "3"))
# Each family user starts a journey at most every PACING seconds (users / arrival rate);
# 0: the next family arrives as soon as the last one is done (a closed loop).
PACING = float(ENV.get("BENCH_PACING", "0"))
POLL_GIVE_UP = float(ENV.get("BENCH_POLL_GIVE_UP", "120"))
FAMILY_FIRST = int(ENV.get("BENCH_FAMILY_FIRST", "0"))
FAMILY_COUNT = int(ENV.get("BENCH_FAMILY_COUNT", "0"))
CHILD_OFFSET = int(ENV.get("BENCH_CHILD_OFFSET", "0"))
STAFF_USERNAME = ENV.get("BENCH_STAFF_USERNAME", "")
STAFF_PASSWORD = ENV.get("BENCH_STAFF_PASSWORD", "")
SUBMIT_PATH = ENV.get("BENCH_SUBMIT_PATH", "/api/v1/registrations")
JPEG = Path(ENV["BENCH_JPEG"]).read_bytes() if ENV.get("BENCH_JPEG") else b""
# A burst: the run ends when each of these IntakeUsers has found the rows used up.
BURST_USERS = int(ENV.get("BENCH_BURST_USERS", "0"))

_lock = threading.Lock()
_families = itertools.count(FAMILY_FIRST)
_rows_at = itertools.count()
_counts: dict[str, Any] = {"journeys_started": 0, "journeys_finished": 0, "accepted": 0,
                           "rejected": 0, "gave_up": 0, "submit_202": 0, "intake_202": 0,
                           "intake_users_done": 0,
                           "submit_to_accepted_ms": []}


def _count(key: str, n: int = 1) -> None:
    with _lock:
        _counts[key] += n


def _rows() -> list[list[str]]:
    path = ENV.get("BENCH_ROWS")
    return [line.split() for line in Path(path).read_text().splitlines()] if path else []


ROWS = _rows()


# Real county codes (Lüliang and Taiyuan, Shanxi): a number must name a place that exists.
# Not 141124-141126: scripts/bench_intake's seeded children (the ceilings' rows) use those.
COUNTIES = ("141102", "141121", "141122", "141123", "141127", "141128", "141129", "141130",
            "141181", "141182", "140105", "140106", "140107", "140108", "140109", "140110",
            "140121", "140122", "140123", "140181")


def id_number(n: int) -> str:
    """A fictional resident ID number (sequence 900-999) for the n-th child of the run:
    36,000 per county, 720,000 in all, none twice."""
    birth = AGE_CUTOFF - dt.timedelta(days=1 + (n // 100) % 360)
    county = COUNTIES[(n // 36000) % len(COUNTIES)]
    body = f"{county}{birth:%Y%m%d}{900 + n % 100:03d}"
    return body + ric.calc_check_digit(body + "0")


def failure(response: Any) -> str:
    """`<status> <API error code>`: the key failures are counted by (a 429/503 without
    Retry-After is marked: a deliberate refusal always says when to come back)."""
    code = ""
    try:
        code = response.json()["error"]["code"]
    except Exception:  # any body that is not the API's error shape
        code = "-"
    late = response.status_code in (429, 503) and not response.headers.get("Retry-After")
    return f"{response.status_code} {code}" + (" without Retry-After" if late else "")


class Api(FastHttpUser):
    """Shared: a request that fails unless its status is expected, counted by code."""

    abstract = True
    token = ""

    def call(self, method: str, path: str, name: str, expect: tuple[int, ...] = (200,),
             **kwargs: Any) -> Any:
        """One request named `name`; failure text `<status> <code>` if not `expect`."""
        headers = kwargs.pop("headers", {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        with self.client.request(method, path, name=name, headers=headers,
                                 catch_response=True, **kwargs) as response:
            if response.status_code in expect:
                response.success()
            else:
                response.failure(failure(response))
            return response

    def login(self, openid: str) -> bool:
        """Log in through the WeChat simulator, as wx.login then wechat-login."""
        code = self.call("POST", SIM_URL + "sim/login-code", "sim: login-code",
                         json={"openid": openid})
        if code.status_code != 200:
            return False
        answer = self.call("POST", "/api/v1/auth/wechat-login", "1 login",
                           json={"code": code.json()["code"]})
        if answer.status_code != 200:
            return False
        self.token = answer.json()["token"]
        return True


class FamilyUser(Api):
    """One family after another from the pool, each doing the whole journey once."""

    wait_time = constant_pacing(PACING) if PACING > 0 else constant(0)

    @task
    def journey(self) -> None:
        """Login, season, schools, zone, child, upload, submit, poll until decided."""
        n = next(_families)
        if FAMILY_COUNT and n >= FAMILY_FIRST + FAMILY_COUNT:
            raise StopUser  # the pool of families is used up
        _count("journeys_started")
        self.token = ""
        if not self.login(f"o-bench-{n:06d}"):
            return
        authority = {"authority": AUTHORITY}
        if self.call("GET", "/api/v1/seasons/current", "2 season", params=authority) \
                .status_code != 200:
            return
        self.call("GET", "/api/v1/schools", "3 schools", params=authority)
        self.call("GET", "/api/v1/zones/lookup", "4 zone lookup",
                  params={"region_code": VILLAGE})
        consent = self.call("GET", "/api/v1/privacy/consent-text", "5 consent text",
                            params=authority)
        if consent.status_code != 200:
            return
        child = self.call("POST", "/api/v1/me/children", "6 add child", expect=(201,), json={
            "name": "张小示", "id_number": id_number(CHILD_OFFSET + n),
            "hukou": {"region_code": VILLAGE, "address": "基准村1号"},
            "guardian_consent": {"version": consent.json()["version"], "agreed": True}})
        if child.status_code != 201:
            return
        upload = self.call("POST", "/api/v1/uploads", "7 upload", expect=(201, 200),
                           files={"file": ("hukou.jpg", JPEG, "image/jpeg")},
                           data={"kind": "hukou_book"})
        if upload.status_code not in (200, 201):
            return
        submit = self.call("POST", SUBMIT_PATH, "8 submit", expect=(202,),
                           headers={"Idempotency-Key": f"family{n}x{int(time.time())}"},
                           json={"child_id": child.json()["id"], "school_code": SCHOOL,
                                 "basis": "hukou", "upload_ids": [upload.json()["upload_id"]]})
        if submit.status_code != 202:
            return
        _count("submit_202")
        submitted = time.monotonic()
        ticket = submit.json()["ticket"]
        while time.monotonic() - submitted < POLL_GIVE_UP:
            self.wait_seconds(POLL_SECONDS)
            answer = self.call("GET", f"/api/v1/registrations/tickets/{ticket}", "9 ticket poll")
            state = answer.json().get("state") if answer.status_code == 200 else None
            if state in ("accepted", "rejected"):
                _count(str(state))
                with _lock:
                    _counts["submit_to_accepted_ms"].append(
                        round((time.monotonic() - submitted) * 1000))
                _count("journeys_finished")
                return
        _count("gave_up")

    def wait_seconds(self, seconds: float) -> None:
        """Sleep without holding up the other simulated users."""
        import gevent

        gevent.sleep(seconds)


class StaffUser(Api):
    """A school's staff member watching the live counts (the console's dashboard)."""

    wait_time = between(2, 4)
    fixed_count = int(ENV.get("BENCH_STAFF_USERS", "1"))

    def on_start(self) -> None:
        """Staff log in with their password."""
        answer = self.call("POST", "/api/v1/auth/staff-login", "staff: login",
                           json={"username": STAFF_USERNAME, "password": STAFF_PASSWORD})
        if answer.status_code != 200:
            raise StopUser
        self.token = answer.json()["token"]

    @task
    def counts(self) -> None:
        """The school's live counts by status and by hour."""
        self.call("GET", "/api/v1/admin/stats", "staff: counts by status",
                  params={"by": "status"})
        self.call("GET", "/api/v1/admin/stats", "staff: counts by hour", params={"by": "hour"})


class HealthUser(Api):
    """GET /healthz as fast as it answers: the framework's ceiling in this run."""

    wait_time = constant(0)

    @task
    def health(self) -> None:
        """The hello endpoint."""
        self.call("GET", "/healthz", "ceiling: /healthz")


class CatalogueUser(Api):
    """The public catalogue reads, as fast as they answer, with no client cache."""

    wait_time = constant(0)

    @task
    def catalogue(self) -> None:
        """Season, schools, regions, zone lookup, categories, requirements."""
        authority = {"authority": AUTHORITY}
        self.call("GET", "/api/v1/seasons/current", "ceiling: season", params=authority)
        self.call("GET", "/api/v1/schools", "ceiling: schools", params=authority)
        self.call("GET", "/api/v1/regions", "ceiling: regions", params=authority)
        self.call("GET", "/api/v1/zones/lookup", "ceiling: zone lookup",
                  params={"region_code": VILLAGE})
        self.call("GET", "/api/v1/categories", "ceiling: categories")
        self.call("GET", "/api/v1/registrations/requirements", "ceiling: requirements")


class TicketUser(Api):
    """Polls one ticket as fast as it answers (a pre-seeded child submitted on start)."""

    wait_time = constant(0)
    ticket = ""

    def on_start(self) -> None:
        """Submit one pre-seeded child to get a ticket to poll."""
        token, child_id, upload_id = ROWS[next(_rows_at) % len(ROWS)]
        self.token = token
        submit = self.call("POST", SUBMIT_PATH, "ticket: submit", expect=(202,),
                           headers={"Idempotency-Key": f"poll{child_id}x{int(time.time())}"},
                           json={"child_id": int(child_id), "school_code": SCHOOL,
                                 "basis": "hukou", "upload_ids": [upload_id]})
        if submit.status_code != 202:
            raise StopUser
        _count("intake_202")
        self.ticket = submit.json()["ticket"]

    @task
    def poll(self) -> None:
        """One poll."""
        self.call("GET", f"/api/v1/registrations/tickets/{self.ticket}", "ceiling: ticket poll")


class IntakeUser(Api):
    """Submits pre-seeded children (one each, fresh Idempotency-Key) as fast as it can."""

    wait_time = constant(0)

    @task
    def submit(self) -> None:
        """One submission of the next pre-seeded child."""
        at = next(_rows_at)
        if at >= len(ROWS):
            # Every seeded child is submitted. A user's requests run one after another, so
            # when the last user gets here every answer has been counted: a burst ends.
            with _lock:
                _counts["intake_users_done"] += 1
                last = _counts["intake_users_done"] == BURST_USERS
            if last:
                self.environment.runner.quit()
            raise StopUser
        token, child_id, upload_id = ROWS[at]
        self.token = token
        key = f"intake{at}x{int(time.time())}"
        for _attempt in range(10):
            # The queued intake answers 202; the synchronous baseline 201 (the row is
            # written). A deliberate 429/503 is retried after Retry-After with the same
            # Idempotency-Key, as the mini-program does.
            answer = self.call("POST", SUBMIT_PATH, "ceiling: submit", expect=(202, 201),
                               headers={"Idempotency-Key": key},
                               json={"child_id": int(child_id), "school_code": SCHOOL,
                                     "basis": "hukou", "upload_ids": [upload_id]})
            if answer.status_code in (202, 201):
                _count("intake_202")
                return
            retry = answer.headers.get("Retry-After")
            if answer.status_code not in (429, 503) or not retry:
                return
            time.sleep(min(float(retry), 5))


@events.test_stop.add_listener
def _write_counts(**_kwargs: Any) -> None:
    """The counts the benchmark checks against PostgreSQL, for scripts/bench_opening_hour."""
    out = ENV.get("BENCH_OUT")
    if out:
        with _lock:
            Path(out).write_text(json.dumps(_counts), encoding="utf-8")
