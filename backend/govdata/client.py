"""Adapters: one Source per fact, speaking the data-sharing platform's signed JSON API.

Each request carries ``X-App-Key``, ``X-Timestamp`` (Unix seconds), ``X-Nonce`` and
``X-Signature`` = hex HMAC-SHA256(app secret, ``METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\nsha256 hex of
the body``). Every failure of the platform (timeout, refused connection, 5xx, rate limit,
refused signature) becomes ``Outcome.UNAVAILABLE`` with a Chinese reason: ``verify`` never
raises for the source's own failures. Logs name the fact, outcome, authority and the gateway's
requestId, never an ID number or a name.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import json
import logging
import secrets
import time
from abc import abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests
from flask import current_app

from backend.govdata.settings import PlatformConfig, parse_sources
from backend.govdata.sources import Fact, Outcome, Result, Source, Subject

logger = logging.getLogger(__name__)

OK = "0000"
NOT_FOUND = "2001"
RATE_LIMITED = "4290"
SERVER_ERROR = "9999"

REASON_TIMEOUT = "政务数据平台响应超时，请稍后再试"
REASON_UNREACHABLE = "无法连接政务数据平台，请稍后再试"
REASON_RATE_LIMITED = "政务数据平台查询繁忙（限流），请稍后再试"
REASON_SERVER_ERROR = "政务数据平台内部错误，请稍后再试"
REASON_UNREADABLE = "政务数据平台的应答无法识别，请稍后再试"
# Refusals that no retry mends: the county's configuration must change.
REASON_CONFIG: dict[str, str] = {
    "1001": "政务数据平台拒绝了请求签名：请管理员核对应用密钥（app_secret）配置",
    "1004": "政务数据平台不认可本应用：请管理员核对应用标识（app_key）及接口授权",
    "1002": "政务数据平台拒绝了请求时间戳：请管理员校准服务器时钟",
    "1003": "政务数据平台认为请求重复，请稍后再试",
    "1005": "政务数据平台拒绝了查询参数：请管理员核对接口版本",
}

REASON_HTTP_CONFIG: dict[int, str] = {
    401: "政务数据平台拒绝访问：请管理员核对 IP 白名单与接口授权",
    403: "政务数据平台拒绝访问：请管理员核对 IP 白名单与接口授权",
    404: "政务数据平台没有该接口：请管理员核对接口地址（base_url）",
}

#: The platform's field names in a mismatch, as families and staff read them.
FIELD_LABELS: dict[str, str] = {
    "name": "姓名",
    "birthDate": "出生日期",
    "guardian": "监护人关系",
    "guardianName": "监护人姓名",
    "permitNo": "居住证号码",
    "validity": "居住证有效期",
    "regionCode": "地址所在区划",
}


def signed_headers(app_key: str, app_secret: str, method: str, path: str, body: bytes, *,
                   timestamp: int | None = None, nonce: str | None = None) -> dict[str, str]:
    """The platform's four authentication headers for one request."""
    timestamp_text = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_hex(16)
    canonical = f"{method.upper()}\n{path}\n{timestamp_text}\n{nonce}\n" \
                f"{hashlib.sha256(body).hexdigest()}"
    signature = hmac.new(app_secret.encode(), canonical.encode(), hashlib.sha256).hexdigest()
    return {"X-App-Key": app_key, "X-Timestamp": timestamp_text, "X-Nonce": nonce,
            "X-Signature": signature}


def region_within(declared: str, actual: str | None) -> bool:
    """Whether a record's 12-digit region lies in the declared one (a town's code ends in
    zeros and covers its villages)."""
    if not actual:
        return False
    for length in (2, 4, 6, 9, 12):
        if declared[length:].strip("0") == "":
            return actual.startswith(declared[:length])
    return False


def _retry_after(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None


class GatewaySource(Source):
    """What every adapter shares: signing, the call, and mapping failures to UNAVAILABLE."""

    path: ClassVar[str]
    fact: Fact
    subject_label: ClassVar[str]  # "户籍记录", for mismatch reasons

    def __init__(self, platform: PlatformConfig, session: requests.Session | None = None) -> None:
        """An adapter for one authority's platform."""
        self.platform = platform
        self.name = platform.names[self.fact]
        self.session = session or requests.Session()

    def verify(self, subject: Subject) -> Result:
        """Ask the platform; ValueError only when the subject lacks what this fact needs."""
        body = self.request_body(subject)
        answer = self._post(body)
        if isinstance(answer, Result):
            result = answer
        else:
            data, request_id = answer
            match = data.get("match")
            if match is True:
                result = self.interpret(data, subject, request_id)
            elif match is False:
                result = self.mismatch(list(data.get("mismatchFields") or []), request_id)
            else:  # an answer we cannot read says nothing about the family: ask again later
                result = self.unavailable(REASON_UNREADABLE, request_id, why="no match field")
        logger.info("govdata answer fact=%s outcome=%s authority=%s request_id=%s",
                    self.fact.value, result.outcome.value, self.platform.authority_code,
                    result.reference)
        return result

    @abstractmethod
    def request_body(self, subject: Subject) -> dict[str, Any]:
        """The JSON body for this catalogue item."""

    def interpret(self, data: Mapping[str, Any], subject: Subject, request_id: str) -> Result:
        """A matching answer ("0000", match true): confirmed, with the record's address."""
        return self.located(data, subject, request_id)

    def result(self, outcome: Outcome, reference: str | None = None, **fields: Any) -> Result:
        """A Result of this source, checked now."""
        return Result(fact=self.fact, outcome=outcome, source=self.name,
                      checked_at=dt.datetime.now(dt.UTC), reference=reference, **fields)

    def mismatch(self, fields: list[str], reference: str) -> Result:
        """MISMATCH naming the differing fields (never their values)."""
        labels = "、".join(FIELD_LABELS.get(f, "其他信息") for f in fields) or "信息"
        return self.result(Outcome.MISMATCH, reference,
                           reason=f"{self.subject_label}中的{labels}与申报不一致")

    def unavailable(self, reason: str, reference: str | None = None, *, why: str,
                    retry_after: int | None = None) -> Result:
        """UNAVAILABLE, logged with a short cause (no personal data)."""
        logger.warning("govdata unavailable fact=%s authority=%s cause=%s request_id=%s",
                       self.fact.value, self.platform.authority_code, why, reference)
        return self.result(Outcome.UNAVAILABLE, reference, reason=reason,
                           retry_after=retry_after)

    def _post(self, body: dict[str, Any]) -> Result | tuple[Mapping[str, Any], str]:
        """Send one signed request: the answer's data and requestId, or a finished Result."""
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        url = self.platform.base_url + self.path
        headers = signed_headers(self.platform.app_key, self.platform.app_secret, "POST",
                                 urlsplit(url).path, raw)
        headers["Content-Type"] = "application/json; charset=utf-8"
        try:
            response = self.session.post(url, data=raw, headers=headers,
                                         timeout=self.platform.timeout_seconds)
        except requests.Timeout:
            return self.unavailable(REASON_TIMEOUT, why="timeout")
        except requests.RequestException as exc:
            return self.unavailable(REASON_UNREACHABLE, why=type(exc).__name__)
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            payload = {}
        code = str(payload.get("code", ""))
        request_id = payload.get("requestId")
        reference = str(request_id) if request_id else None
        if response.status_code == 429 or code == RATE_LIMITED:
            return self.unavailable(REASON_RATE_LIMITED, reference, why="rate_limited",
                                    retry_after=_retry_after(response.headers.get("Retry-After")))
        if response.status_code >= 500 or code == SERVER_ERROR:
            return self.unavailable(REASON_SERVER_ERROR, reference,
                                    why=f"http {response.status_code} code {code or '-'}")
        if code in REASON_CONFIG:
            return self.unavailable(REASON_CONFIG[code], reference, why=f"code {code}")
        if response.status_code in REASON_HTTP_CONFIG:
            # Refused before the gateway's own checks: a firewall or a wrong address.
            return self.unavailable(REASON_HTTP_CONFIG[response.status_code], reference,
                                    why=f"http {response.status_code}")
        if code == NOT_FOUND and reference:
            return self.result(Outcome.NOT_FOUND, reference,
                               reason=f"{self.name}中没有该身份证号的{self.subject_label}")
        data = payload.get("data")
        if code != OK or not reference or not isinstance(data, dict):
            return self.unavailable(REASON_UNREADABLE, reference,
                                    why=f"http {response.status_code} code {code or '-'}")
        return data, reference

    def located(self, data: Mapping[str, Any], subject: Subject, reference: str,
                **fields: Any) -> Result:
        """CONFIRMED with the record's address, or MISMATCH when it lies outside the region
        the family declared."""
        region = data.get("regionCode")
        if subject.declared_region_code and not region_within(subject.declared_region_code,
                                                              region):
            return self.mismatch(["regionCode"], reference)
        return self.result(Outcome.CONFIRMED, reference, address=data.get("address"),
                           region_code=region, **fields)


def _need(value: str | None, what: str) -> str:
    if not value:
        raise ValueError(f"this check needs the {what}")
    return value


def _date(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _compact(body: dict[str, Any]) -> dict[str, Any]:
    """Leave out what the family did not declare: the platform checks only what it is given."""
    return {key: value for key, value in body.items() if value not in (None, "")}


class ChildRecordSource(GatewaySource):
    """A source keyed by the child's ID number (户籍, 出生医学证明)."""

    def request_body(self, subject: Subject) -> dict[str, Any]:
        """The child's ID number and name; birth date and guardian when the family gave them."""
        return _compact({"idNumber": _need(subject.child_id_number, "child's ID number"),
                         "name": subject.child_name,
                         "birthDate": _date(subject.child_birth_date),
                         "guardianIdNumber": subject.guardian_id_number,
                         "guardianName": subject.guardian_name})


class HouseholdSource(ChildRecordSource):
    """户籍 (公安): the child's household record, birth date and the guardian in it."""

    fact = Fact.HOUSEHOLD
    path = "/api/v1/household/verify"
    subject_label = "户籍记录"


class PropertySource(GatewaySource):
    """不动产登记: a residential property registered to the guardian."""

    fact = Fact.PROPERTY
    path = "/api/v1/property/query"
    subject_label = "不动产登记"

    def request_body(self, subject: Subject) -> dict[str, Any]:
        """The owner (the guardian): ID number and name."""
        return {"idNumber": _need(subject.guardian_id_number, "guardian's ID number"),
                "name": _need(subject.guardian_name, "guardian's name")}

    def interpret(self, data: Mapping[str, Any], subject: Subject, request_id: str) -> Result:
        """The property in the declared region (or the first home) with its address."""
        homes = [p for p in data.get("properties") or [] if isinstance(p, dict)]
        if not homes:
            return self.result(Outcome.NOT_FOUND, request_id,
                               reason=f"{self.name}中该监护人名下没有登记的房产")
        declared = subject.declared_region_code
        chosen = next((p for p in homes if declared and region_within(declared,
                                                                     p.get("regionCode"))),
                      next((p for p in homes if p.get("usage") == "住宅"), homes[0]))
        return self.located(chosen, subject, request_id)


class ResidencePermitSource(GatewaySource):
    """居住证 (公安): the guardian's permit, its number and validity."""

    fact = Fact.RESIDENCE_PERMIT
    path = "/api/v1/residence-permit/verify"
    subject_label = "居住证信息"

    def request_body(self, subject: Subject) -> dict[str, Any]:
        """The holder (the guardian) and the permit number the family entered."""
        return _compact({"idNumber": _need(subject.guardian_id_number, "guardian's ID number"),
                         "name": _need(subject.guardian_name, "guardian's name"),
                         "permitNo": subject.residence_permit_number})


class BirthCertificateSource(ChildRecordSource):
    """出生医学证明 (卫健): the child's name, birth date and the parent named on it."""

    fact = Fact.BIRTH
    path = "/api/v1/birth-certificate/verify"
    subject_label = "出生医学证明"

    def interpret(self, data: Mapping[str, Any], subject: Subject, request_id: str) -> Result:
        """Confirmed: a birth certificate carries no address."""
        return self.result(Outcome.CONFIRMED, request_id)


ADAPTERS: dict[Fact, type[GatewaySource]] = {
    Fact.HOUSEHOLD: HouseholdSource,
    Fact.PROPERTY: PropertySource,
    Fact.RESIDENCE_PERMIT: ResidencePermitSource,
    Fact.BIRTH: BirthCertificateSource,
}


def sources_for(authority_code: str, config: Mapping[str, Any] | None = None
                ) -> dict[Fact, Source]:
    """The sources an authority has switched on (empty when none), from GOVDATA_SOURCES."""
    raw = (current_app.config if config is None else config).get("GOVDATA_SOURCES") or ""
    return dict(_sources(str(raw), authority_code))


@functools.lru_cache(maxsize=64)
def _sources(raw: str, authority_code: str) -> tuple[tuple[Fact, Source], ...]:
    # One HTTP session (connection pool) per authority and configuration.
    platform = parse_sources(raw).get(authority_code)
    if platform is None:
        return ()
    session = requests.Session()
    return tuple((fact, ADAPTERS[fact](platform, session)) for fact in platform.facts)
