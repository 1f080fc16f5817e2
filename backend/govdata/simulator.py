"""Provincial data-sharing platform (政务数据共享交换平台) simulator for development and tests.

A small standalone Flask app that answers the four catalogue items the adapters in
``backend/govdata/client.py`` ask, in the style of a Chinese government gateway:

- ``POST /api/v1/household/verify``: 户籍 (公安) — child, birth date, guardian in the household;
- ``POST /api/v1/property/query``: 不动产登记 — the properties registered to an owner;
- ``POST /api/v1/residence-permit/verify``: 居住证 (公安) — holder, permit number, validity;
- ``POST /api/v1/birth-certificate/verify``: 出生医学证明 (卫健) — child, birth date, parent.

Every answer is ``{"code", "msg", "data", "requestId"}`` ("0000" = 成功). Every request is
signed (headers ``X-App-Key``, ``X-Timestamp``, ``X-Nonce``, ``X-Signature``: hex
HMAC-SHA256 with the app secret over ``METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\nsha256(body)``); a
bad signature, a clock more than 300 s off or a nonce seen before is refused, and each app key
may make a configurable number of requests per second (HTTP 429 + ``Retry-After`` beyond it).

A ``/sim/...`` control surface adds records, sets a fault per endpoint (timeout, error,
rate_limit), changes the rate limit and lists the queries received with ID numbers masked. It
has no authentication: never expose it beyond loopback. The demo records are
``DEFAULT_RECORDS`` (docs/VERIFICATION.md lists them).

Run it with ``python -m backend.govdata.simulator --port 8091``.

This module deliberately imports nothing from the rest of ``backend`` so it can run on its own;
it checks signatures with its own code, so a signing mistake in the adapters shows in tests.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import hmac
import logging
import os
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.serving import make_server

__all__ = [
    "CODES",
    "DEFAULT_APP_KEY",
    "DEFAULT_APP_SECRET",
    "DEFAULT_RECORDS",
    "ENDPOINTS",
    "GovDataSimulator",
    "create_simulator_app",
    "main",
]

DEFAULT_APP_KEY = "demo-govdata-app"
# A well-known development value, not a credential: the simulator accepts only it by default.
DEFAULT_APP_SECRET = "demo-govdata-secret"  # noqa: S105

#: The gateway's answer codes and messages.
CODES: dict[str, str] = {
    "0000": "成功",
    "1001": "签名校验失败",
    "1002": "请求时间戳已过期",
    "1003": "请求重复（nonce 已使用）",
    "1004": "应用未授权或不存在",
    "1005": "请求参数错误",
    "2001": "查无记录",
    "4290": "请求过于频繁，已限流",
    "9999": "系统内部错误",
}

#: Endpoint name (for /sim/faults and /sim/queries) -> path.
ENDPOINTS: dict[str, str] = {
    "household": "/api/v1/household/verify",
    "property": "/api/v1/property/query",
    "residence_permit": "/api/v1/residence-permit/verify",
    "birth": "/api/v1/birth-certificate/verify",
}

AUTH_HEADERS = ("X-App-Key", "X-Timestamp", "X-Nonce", "X-Signature")
MAX_CLOCK_SKEW = 300
NONCE_LIFETIME = 2 * MAX_CLOCK_SKEW  # a nonce older than the skew window is refused anyway
DEFAULT_RATE_PER_SECOND = 20.0
DEFAULT_TIMEOUT_FAULT_SECONDS = 10.0
MAX_FAULT_SECONDS = 120.0
QUERY_LOG_LIMIT = 10_000
# garbled: a success answer without the field that says whether the record matches (a
# gateway that changed its format).
FAULT_KINDS = frozenset({"timeout", "error", "rate_limit", "garbled"})

_ID_NUMBER = re.compile(r"\d{17}[\dX]")
_REGION_CODE = re.compile(r"\d{12}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

# The demo county's records (临县, 141124). Region codes are 12-digit 统计用区划代码 in form.
DEFAULT_RECORDS: dict[str, tuple[dict[str, Any], ...]] = {
    "household": (
        {"idNumber": "141124201911050017", "name": "王小明", "birthDate": "2019-11-05",
         "householdNo": "141124100001012345",
         "address": "山西省吕梁市临县临泉镇城关社区东街12号", "regionCode": "141124100001",
         "guardians": [{"idNumber": "141124198503120034", "name": "王建国",
                        "relation": "父亲"}]},
        {"idNumber": "141124202002140028", "name": "李小红", "birthDate": "2020-02-14",
         "householdNo": "141124104201000456",
         "address": "山西省吕梁市临县白文镇白文村三组8号", "regionCode": "141124104201",
         "guardians": [{"idNumber": "141124198807200041", "name": "刘芳",
                        "relation": "母亲"}]},
        {"idNumber": "142302202003010069", "name": "张小宇", "birthDate": "2020-03-01",
         "householdNo": "142302001003000789",
         "address": "山西省吕梁市离石区滨河街道龙凤社区北川路5号", "regionCode": "142302001003",
         "guardians": [{"idNumber": "142302198709090057", "name": "张伟",
                        "relation": "父亲"}]},
    ),
    "property": (
        {"idNumber": "141124198503120034", "name": "王建国",
         "properties": [{"certificateNo": "晋(2021)临县不动产权第0001234号",
                         "address": "山西省吕梁市临县临泉镇城关社区东街12号",
                         "regionCode": "141124100001", "usage": "住宅",
                         "registeredOn": "2021-06-18"}]},
    ),
    "residence_permit": (
        {"idNumber": "142302198709090057", "name": "张伟", "permitNo": "1411242024000123",
         "address": "山西省吕梁市临县临泉镇南关社区新华街3号", "regionCode": "141124100002",
         "validFrom": "2025-03-01", "validUntil": "2030-02-28"},
        {"idNumber": "141124199001010075", "name": "赵敏", "permitNo": "1411242022000456",
         "address": "山西省吕梁市临县临泉镇南关社区新华街9号", "regionCode": "141124100002",
         "validFrom": "2022-01-01", "validUntil": "2025-12-31"},
    ),
    "birth": (
        {"idNumber": "141124201911050017", "name": "王小明", "birthDate": "2019-11-05",
         "certificateNo": "S140651234", "birthPlace": "临县人民医院",
         "parents": [{"idNumber": "141124198503120034", "name": "王建国",
                      "relation": "父亲"}]},
        {"idNumber": "142302202003010069", "name": "张小宇", "birthDate": "2020-03-01",
         "certificateNo": "T140187654", "birthPlace": "吕梁市人民医院",
         "parents": [{"idNumber": "142302198709090057", "name": "张伟",
                      "relation": "父亲"}]},
    ),
}


class SimRequestError(Exception):
    """A malformed request to the /sim control surface (answered with HTTP 400)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class GatewayError(Exception):
    """A gateway refusal: answered with ``code`` and the HTTP status a gateway would use."""

    def __init__(self, code: str, status: int = 200, retry_after: int | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.status = status
        self.retry_after = retry_after


def mask_id(value: str) -> str:
    """141124********0017: what the query log shows of an ID number."""
    return value[:6] + "*" * max(len(value) - 10, 0) + value[-4:] if len(value) > 10 else "***"


@dataclass
class _Fault:
    kind: str
    seconds: float
    remaining: int | None  # None: until cleared

    def as_dict(self, endpoint: str) -> dict[str, Any]:
        """Describe the fault for the control surface."""
        return {"endpoint": endpoint, "kind": self.kind, "seconds": self.seconds,
                "times": self.remaining}


@dataclass
class _State:
    records: dict[str, dict[str, dict[str, Any]]]
    apps: dict[str, str]
    rate_per_second: float
    nonces: dict[str, float] = field(default_factory=dict)
    hits: dict[str, deque[float]] = field(default_factory=dict)
    faults: dict[str, _Fault] = field(default_factory=dict)
    queries: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=QUERY_LOG_LIMIT))
    clock_offset: float = 0.0


def _default_records() -> dict[str, dict[str, dict[str, Any]]]:
    return {fact: {r["idNumber"]: copy.deepcopy(r) for r in records}
            for fact, records in DEFAULT_RECORDS.items()}


class GovDataSimulator:
    """All simulator state, guarded by one lock; the Flask routes are thin wrappers."""

    def __init__(self, apps: Mapping[str, str] | None = None, *,
                 rate_per_second: float = DEFAULT_RATE_PER_SECOND,
                 clock: Callable[[], float] | None = None) -> None:
        """A simulator seeded with the demo records, accepting the given app keys."""
        self.lock = threading.Lock()
        self._apps = dict(apps or {DEFAULT_APP_KEY: DEFAULT_APP_SECRET})
        self._rate = rate_per_second
        self._clock = clock or time.time
        self._state = self._fresh()
        # Set to wake every request sleeping in a "timeout" fault (clear or reset).
        self._wake = threading.Event()

    def _fresh(self) -> _State:
        return _State(records=_default_records(), apps=dict(self._apps),
                      rate_per_second=self._rate)

    def now(self) -> float:
        """The simulator's time (the clock plus the /sim/clock offset)."""
        return self._clock() + self._state.clock_offset

    def advance(self, seconds: float) -> float:
        """Move the simulator's clock forward; return the new time."""
        with self.lock:
            self._state.clock_offset += seconds
            return self.now()

    def reset(self) -> None:
        """Back to the demo records, no faults, no nonces, no queries, the first rate."""
        self._wake.set()
        with self.lock:
            self._state = self._fresh()
            self._wake = threading.Event()

    # --- records ------------------------------------------------------------------

    def add_record(self, fact: str, record: dict[str, Any]) -> None:
        """Add or replace the record of one ID number for one endpoint."""
        with self.lock:
            self._state.records[fact][record["idNumber"]] = copy.deepcopy(record)

    def record(self, fact: str, id_number: str) -> dict[str, Any] | None:
        """A copy of one record, or None."""
        with self.lock:
            found = self._state.records[fact].get(id_number)
            return copy.deepcopy(found) if found else None

    def record_counts(self) -> dict[str, int]:
        """How many records each endpoint holds."""
        with self.lock:
            return {fact: len(records) for fact, records in self._state.records.items()}

    # --- authentication, replay and rate limit -------------------------------------

    def set_rate(self, per_second: float) -> None:
        """Change the per-app-key rate limit."""
        with self.lock:
            self._state.rate_per_second = per_second

    def check_request(self, method: str, path: str, headers: Mapping[str, str],
                      body: bytes) -> str:
        """Authenticate one gateway request; return its app key or raise GatewayError."""
        app_key = headers.get("X-App-Key", "")
        timestamp = headers.get("X-Timestamp", "")
        nonce = headers.get("X-Nonce", "")
        signature = headers.get("X-Signature", "")
        with self.lock:
            secret = self._state.apps.get(app_key)
            if secret is None:
                raise GatewayError("1004", 401)
            if not timestamp.isdigit() or not nonce or not signature:
                raise GatewayError("1001", 401)
            text = "\n".join([method.upper(), path, timestamp, nonce,
                              hashlib.sha256(body).hexdigest()])
            expected = hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, signature.lower()):
                raise GatewayError("1001", 401)
            now = self.now()
            if abs(now - int(timestamp)) > MAX_CLOCK_SKEW:
                raise GatewayError("1002", 401)
            self._state.nonces = {k: t for k, t in self._state.nonces.items()
                                  if t > now - NONCE_LIFETIME}
            seen_key = f"{app_key}:{nonce}"
            if seen_key in self._state.nonces:
                raise GatewayError("1003", 401)
            self._state.nonces[seen_key] = now
            hits = self._state.hits.setdefault(app_key, deque())
            while hits and hits[0] <= now - 1.0:
                hits.popleft()
            if len(hits) >= self._state.rate_per_second:
                raise GatewayError("4290", 429, retry_after=1)
            hits.append(now)
        return app_key

    # --- faults and the query log ---------------------------------------------------

    def set_fault(self, endpoint: str, kind: str, seconds: float,
                  times: int | None) -> list[dict[str, Any]]:
        """Make the next calls (``times``, or all until cleared) to an endpoint fail."""
        with self.lock:
            self._state.faults[endpoint] = _Fault(kind, seconds, times)
            return self._faults()

    def faults(self) -> list[dict[str, Any]]:
        """The faults in force."""
        with self.lock:
            return self._faults()

    def _faults(self) -> list[dict[str, Any]]:
        return [fault.as_dict(endpoint) for endpoint, fault in self._state.faults.items()]

    def clear_faults(self, endpoint: str | None = None) -> None:
        """Clear one endpoint's fault, or all; wakes requests sleeping in a timeout."""
        with self.lock:
            if endpoint is None:
                self._state.faults.clear()
            else:
                self._state.faults.pop(endpoint, None)
            wake, self._wake = self._wake, threading.Event()
        wake.set()

    def take_fault(self, endpoint: str) -> tuple[_Fault | None, threading.Event]:
        """Consume one use of the endpoint's fault, if any (and the event that ends a sleep)."""
        with self.lock:
            fault = self._state.faults.get(endpoint)
            if fault is not None and fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    del self._state.faults[endpoint]
            return fault, self._wake

    def log_query(self, endpoint: str, app_key: str, id_number: object, code: str,
                  request_id: str) -> None:
        """Remember one query, its ID number masked (the log is shown on /sim/queries)."""
        shown = mask_id(id_number) if isinstance(id_number, str) else None
        with self.lock:
            self._state.queries.append({"endpoint": endpoint, "appKey": app_key,
                                        "idNumber": shown, "code": code,
                                        "requestId": request_id, "at": self.now()})

    def queries(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        """The queries received, oldest first, optionally for one endpoint."""
        with self.lock:
            return [dict(q) for q in self._state.queries
                    if endpoint is None or q["endpoint"] == endpoint]

    # --- the four catalogue items ---------------------------------------------------

    def household(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """户籍核验: the child's record, its name and birth date, the guardian in it."""
        return self._child("household", "guardians", body,
                           ("householdNo", "address", "regionCode"))

    def property(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """不动产登记查询: the residential properties registered to the owner."""
        record = self._find("property", body)
        return _answer_for(_differs(record, body, ("name",)), properties=record["properties"])

    def residence_permit(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """居住证核验: holder's name, the permit number, valid on the simulator's date."""
        record = self._find("residence_permit", body)
        differs = _differs(record, body, ("name", "permitNo"))
        today = time.strftime("%Y-%m-%d", time.gmtime(self.now() + 8 * 3600))
        if not record["validFrom"] <= today <= record["validUntil"]:
            differs.append("validity")
        return _answer_for(differs, **{key: record[key] for key in (
            "permitNo", "validUntil", "address", "regionCode")})

    def birth(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """出生医学证明核验: the child's name and birth date, the parent named on it."""
        return self._child("birth", "parents", body, ("certificateNo", "birthPlace"))

    def _child(self, fact: str, people: str, body: Mapping[str, Any],
               shown: tuple[str, ...]) -> dict[str, Any]:
        """A child's record: name, birth date and the guardian linked to the child."""
        record = self._find(fact, body)
        differs = _differs(record, body, ("name", "birthDate"))
        differs += _relation_differs(record[people], body)
        return _answer_for(differs, relation=_relation(record[people], body),
                           **{key: record[key] for key in shown})

    def _find(self, fact: str, body: Mapping[str, Any]) -> dict[str, Any]:
        id_number = body.get("idNumber")
        name = body.get("name")
        if not isinstance(id_number, str) or not _ID_NUMBER.fullmatch(id_number):
            raise GatewayError("1005")
        if not isinstance(name, str) or not name:
            raise GatewayError("1005")
        found = self.record(fact, id_number)
        if found is None:
            raise GatewayError("2001")
        return found


def _answer_for(differs: list[str], **shown: Any) -> dict[str, Any]:
    """A match shows the record's fields; a mismatch only the names of those that differ."""
    if differs:
        return {"match": False, "mismatchFields": differs}
    return {"match": True, "mismatchFields": [], **shown}


def _differs(record: Mapping[str, Any], body: Mapping[str, Any],
             fields: tuple[str, ...]) -> list[str]:
    """Fields the request gives whose value differs from the record (names only)."""
    return [name for name in fields if body.get(name) not in (None, "")
            and body.get(name) != record.get(name)]


def _relation(people: list[dict[str, Any]], body: Mapping[str, Any]) -> str | None:
    guardian = body.get("guardianIdNumber")
    return next((p["relation"] for p in people if p["idNumber"] == guardian), None)


def _relation_differs(people: list[dict[str, Any]], body: Mapping[str, Any]) -> list[str]:
    """'guardian' when the named guardian is not linked to the child; 'guardianName' when
    the guardian is linked under another name."""
    guardian = body.get("guardianIdNumber")
    if not guardian:
        return []
    person = next((p for p in people if p["idNumber"] == guardian), None)
    if person is None:
        return ["guardian"]
    name = body.get("guardianName")
    return ["guardianName"] if name and name != person["name"] else []


# --------------------------------------------------------------------------------------
# HTTP layer
# --------------------------------------------------------------------------------------

gateway_api = Blueprint("govdata_gateway", __name__)
sim_api = Blueprint("govdata_sim_control", __name__, url_prefix="/sim")


def _sim() -> GovDataSimulator:
    simulator: GovDataSimulator = current_app.extensions["govdata_sim"]
    return simulator


def _request_id() -> str:
    return f"GX{time.strftime('%Y%m%d%H%M%S', time.gmtime())}{secrets.token_hex(6).upper()}"


def _envelope(code: str, data: dict[str, Any] | None, request_id: str, status: int = 200,
              retry_after: int | None = None) -> Response:
    response = jsonify({"code": code, "msg": CODES[code], "data": data,
                        "requestId": request_id})
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _answer(endpoint: str, handler: Callable[[Mapping[str, Any]], dict[str, Any]]) -> Response:
    """Run one catalogue item: signature, replay, rate limit, faults, handler, query log."""
    simulator = _sim()
    request_id = _request_id()
    raw = request.get_data()
    body = request.get_json(force=True, silent=True)
    id_number = body.get("idNumber") if isinstance(body, dict) else None
    app_key = request.headers.get("X-App-Key", "")
    code, data, status, retry_after = "0000", None, 200, None
    try:
        headers = {name: request.headers.get(name, "") for name in AUTH_HEADERS}
        simulator.check_request(request.method, request.path, headers, raw)
        fault, wake = simulator.take_fault(endpoint)
        if fault is not None and fault.kind == "timeout":
            # Wait outside the lock; a cleared fault or a reset ends the wait early.
            wake.wait(fault.seconds)
        if fault is not None and fault.kind == "error":
            raise GatewayError("9999", 500)
        if fault is not None and fault.kind == "rate_limit":
            raise GatewayError("4290", 429, retry_after=max(1, round(fault.seconds)))
        if not isinstance(body, dict):
            raise GatewayError("1005")
        data = handler(body)
        if fault is not None and fault.kind == "garbled":
            data = {key: value for key, value in data.items() if key != "match"}
    except GatewayError as refusal:
        code, status, retry_after = refusal.code, refusal.status, refusal.retry_after
    simulator.log_query(endpoint, app_key, id_number, code, request_id)
    return _envelope(code, data, request_id, status, retry_after)


def _catalogue_item() -> Response:
    """One catalogue item (户籍, 不动产, 居住证, 出生医学证明): the rule's endpoint names it."""
    endpoint = request.endpoint.rsplit(".", 1)[-1] if request.endpoint else ""
    handlers: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
        "household": _sim().household, "property": _sim().property,
        "residence_permit": _sim().residence_permit, "birth": _sim().birth}
    return _answer(endpoint, handlers[endpoint])


for _name, _path in ENDPOINTS.items():
    gateway_api.add_url_rule(_path, _name, _catalogue_item, methods=["POST"])


def _control_body() -> dict[str, Any]:
    """Parse a /sim request body; an empty body counts as ``{}``."""
    if not request.get_data():
        return {}
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise SimRequestError("request body must be a JSON object")
    return body


def _endpoint(value: object) -> str:
    if value not in ENDPOINTS:
        raise SimRequestError(f"endpoint must be one of {', '.join(sorted(ENDPOINTS))}")
    return str(value)


def _seconds(value: object, default: float) -> float:
    if value is None:
        return default
    if not isinstance(value, int | float) or isinstance(value, bool) \
            or not 0 <= value <= MAX_FAULT_SECONDS:
        raise SimRequestError(f"seconds must be a number between 0 and {MAX_FAULT_SECONDS:g}")
    return float(value)


def _check_record(fact: str, record: object) -> dict[str, Any]:
    """The few fields every record needs, so a fixture typo fails loudly."""
    if not isinstance(record, dict):
        raise SimRequestError("record must be a JSON object")
    if not isinstance(record.get("idNumber"), str) or not _ID_NUMBER.fullmatch(
            record["idNumber"]):
        raise SimRequestError("record.idNumber must be an 18-character ID number")
    needed = {"household": ("name", "birthDate", "householdNo", "address", "regionCode",
                            "guardians"),
              "property": ("name", "properties"),
              "residence_permit": ("name", "permitNo", "address", "regionCode", "validFrom",
                                   "validUntil"),
              "birth": ("name", "birthDate", "certificateNo", "birthPlace", "parents")}[fact]
    missing = [name for name in needed if name not in record]
    if missing:
        raise SimRequestError(f"record lacks {', '.join(missing)}")
    regions = [record.get("regionCode")] + [
        p.get("regionCode") for p in record.get("properties", []) if isinstance(p, dict)]
    if any(r is not None and not (isinstance(r, str) and _REGION_CODE.fullmatch(r))
           for r in regions):
        raise SimRequestError("regionCode must be a 12-digit 统计用区划代码")
    dates = [record.get(k) for k in ("birthDate", "validFrom", "validUntil") if k in record]
    if any(not (isinstance(d, str) and _DATE.fullmatch(d)) for d in dates):
        raise SimRequestError("dates must be YYYY-MM-DD")
    return record


@sim_api.post("/records")
def sim_add_record() -> Response:
    """Add (or replace) a record: ``{"endpoint": "household", "record": {...}}``."""
    body = _control_body()
    endpoint = _endpoint(body.get("endpoint"))
    record = _check_record(endpoint, body.get("record"))
    _sim().add_record(endpoint, record)
    return jsonify({"endpoint": endpoint, "idNumber": mask_id(record["idNumber"])})


@sim_api.get("/records")
def sim_records() -> Response:
    """How many records each endpoint holds (never the records: they hold ID numbers)."""
    return jsonify({"records": _sim().record_counts()})


@sim_api.get("/faults")
def sim_faults() -> Response:
    """The faults in force."""
    return jsonify({"faults": _sim().faults()})


@sim_api.post("/faults")
def sim_set_fault() -> Response:
    """Set an endpoint's fault: ``{"endpoint", "kind": timeout|error|rate_limit|garbled, "seconds",
    "times"}`` (timeout: sleep ``seconds``, default 10; rate_limit: Retry-After ``seconds``)."""
    body = _control_body()
    endpoint = _endpoint(body.get("endpoint"))
    kind = body.get("kind")
    if kind not in FAULT_KINDS:
        raise SimRequestError(f"kind must be one of {', '.join(sorted(FAULT_KINDS))}")
    seconds = _seconds(body.get("seconds"),
                       DEFAULT_TIMEOUT_FAULT_SECONDS if kind == "timeout" else 1.0)
    times = body.get("times")
    if times is not None and (not isinstance(times, int) or isinstance(times, bool)
                              or times < 1):
        raise SimRequestError("times must be a positive integer (or absent: until cleared)")
    return jsonify({"faults": _sim().set_fault(endpoint, str(kind), seconds, times)})


@sim_api.delete("/faults")
def sim_clear_faults() -> Response:
    """Clear every fault, or one endpoint's (``?endpoint=``)."""
    endpoint = request.args.get("endpoint")
    _sim().clear_faults(_endpoint(endpoint) if endpoint else None)
    return jsonify({"faults": _sim().faults()})


@sim_api.post("/rate-limit")
def sim_set_rate() -> Response:
    """Change the per-app-key limit: ``{"per_second": 5}``."""
    value = _control_body().get("per_second")
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise SimRequestError("per_second must be a positive number")
    _sim().set_rate(float(value))
    return jsonify({"per_second": value})


@sim_api.get("/queries")
def sim_queries() -> Response:
    """The queries received (ID numbers masked), optionally ``?endpoint=``."""
    return jsonify({"queries": _sim().queries(request.args.get("endpoint") or None)})


@sim_api.post("/clock")
def sim_advance_clock() -> Response:
    """Move the simulator's clock forward by ``advance_seconds``."""
    seconds = _control_body().get("advance_seconds")
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
        raise SimRequestError("advance_seconds must be a non-negative number")
    return jsonify({"now": _sim().advance(float(seconds))})


@sim_api.post("/reset")
def sim_reset() -> Response:
    """Back to the demo records; no faults, nonces or queries."""
    _sim().reset()
    return jsonify({"ok": True})


@sim_api.get("/health")
def sim_health() -> Response:
    """Liveness probe."""
    return jsonify({"ok": True})


def _handle_sim_error(error: SimRequestError) -> tuple[Response, int]:
    return jsonify({"error": error.message}), error.status


def _handle_http_error(error: HTTPException) -> tuple[Response, int]:
    # JSON instead of Werkzeug's HTML pages, which nobody reads in API tests.
    return jsonify({"error": error.description or error.name}), error.code or 500


def create_simulator_app(apps: Mapping[str, str] | None = None, *,
                         rate_per_second: float = DEFAULT_RATE_PER_SECOND,
                         clock: Callable[[], float] | None = None) -> Flask:
    """Build the simulator Flask app; its state is ``app.extensions["govdata_sim"]``."""
    app = Flask(__name__)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # UTF-8, as gateways answer
    app.extensions["govdata_sim"] = GovDataSimulator(apps, rate_per_second=rate_per_second,
                                                     clock=clock)
    app.register_blueprint(gateway_api)
    app.register_blueprint(sim_api)
    app.register_error_handler(SimRequestError, _handle_sim_error)
    app.register_error_handler(HTTPException, _handle_http_error)
    return app


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point: serve the simulator on a threaded Werkzeug server."""
    parser = argparse.ArgumentParser(
        description="Government data-sharing platform simulator (development only)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--app-key", default=os.environ.get("GOVDATA_SIM_APP_KEY")
                        or DEFAULT_APP_KEY)
    parser.add_argument("--app-secret", default=os.environ.get("GOVDATA_SIM_APP_SECRET")
                        or DEFAULT_APP_SECRET)
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE_PER_SECOND,
                        help="requests per second allowed per app key")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    app = create_simulator_app({args.app_key: args.app_secret}, rate_per_second=args.rate)
    server = make_server(args.host, args.port, app, threaded=True)
    print(f"Government data simulator listening on http://{args.host}:{server.server_port}/",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
