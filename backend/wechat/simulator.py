"""WeChat server API simulator for development and tests.

A small standalone Flask app that answers the WeChat endpoints the backend uses
(``cgi-bin/token``, ``cgi-bin/stable_token``, ``sns/jscode2session``,
``wxa/business/getuserphonenumber``, ``cgi-bin/message/subscribe/send``,
``wxa/getwxacodeunlimit``, ``wxa/msg_sec_check`` and the 人脸核身 pair
``cityservice/face/identify/getverifyid`` / ``queryverifyinfo``) with WeChat's field names,
JSON shapes and error codes, so the backend can talk to it through wechatpy
exactly as it talks to ``https://api.weixin.qq.com/``.

A ``/sim/...`` control surface stands in for the user's phone (login and phone
codes, subscription taps, the scenes of the mini-program codes it could scan) and
lets tests inject faults, move the clock and inspect what was sent.  It has no
authentication: never expose it beyond loopback and never point a production
configuration at it.

Run it with ``python -m backend.wechat.simulator --port 8090``.

This module deliberately imports nothing from the rest of ``backend`` so it can
run on its own.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import io
import itertools
import logging
import os
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import qrcode
from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.serving import make_server

__all__ = [
    "DEFAULT_APPID",
    "DEFAULT_REVIEW_WORDS",
    "DEFAULT_RISKY_WORDS",
    "DEFAULT_SECRET",
    "DEFAULT_TEMPLATES",
    "FAULT_ENDPOINTS",
    "WeChatSimulator",
    "create_simulator_app",
    "face_cert_hash",
    "main",
    "valid_subscribe_field",
    "wechat_error",
]

DEFAULT_APPID = "wxdemo000000000001"
# A well-known development value, not a credential: the simulator accepts only it.
DEFAULT_SECRET = "demo-secret"  # noqa: S105

#: Subscribe-message template ids registered in every fresh simulator.
DEFAULT_TEMPLATES: tuple[str, ...] = (
    "TPL_REG_RECEIVED",
    "TPL_CORRECTION",
    "TPL_REVIEW_RESULT",
    "TPL_ADMISSION_RESULT",
    "TPL_APPOINTMENT",
    "TPL_ANNOUNCEMENT",
)

#: Content-security words that make ``msg_sec_check`` answer ``risky`` (word -> label).
DEFAULT_RISKY_WORDS: Mapping[str, int] = {"赌博": 20006, "代考": 20006}
#: Content-security words that make ``msg_sec_check`` answer ``review`` (word -> label).
DEFAULT_REVIEW_WORDS: Mapping[str, int] = {"内部名额": 21000, "保证录取": 21000}

#: Endpoint names accepted by ``POST /sim/faults`` and used in ``GET /sim/calls``.
FAULT_ENDPOINTS: frozenset[str] = frozenset(
    {
        "token",
        "stable_token",
        "jscode2session",
        "getuserphonenumber",
        "subscribe_send",
        "getwxacodeunlimit",
        "msg_sec_check",
        "getverifyid",
        "queryverifyinfo",
    }
)

TOKEN_LIFETIME = 7200
# WeChat keeps the previous cgi-bin/token valid for 5 minutes after a new one is issued.
TOKEN_GRACE_SECONDS = 300
# stable_token in normal mode rotates 5 minutes before expiry; both tokens stay usable.
STABLE_TOKEN_EARLY_REFRESH = 300
# After a stable_token force refresh the old token survives 30 s more.
FORCE_REFRESH_GRACE_SECONDS = 30
CODE_LIFETIME = 300
MAX_SEC_CHECK_CHARS = 2500
MAX_SCENE_CHARS = 32
MAX_FAULT_DELAY = 120.0
CALL_LOG_LIMIT = 10_000

ERRMSGS: dict[int, str] = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40013: "invalid appid",
    40029: "invalid code",
    40037: "invalid template_id",
    40097: "invalid args",
    40125: "invalid appsecret",
    40169: "invalid length for scene, or the data is not json string",
    40226: "high risk user",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    41008: "missing code",
    41030: "invalid page",
    42001: "access_token expired",
    43101: "user refuse to accept the msg",
    44004: "empty content",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit  mustslower  retry next minute",
    47001: "data format error",
    47003: "argument invalid!",
    84001: "invalid verify_id",
    87014: "risky content",
}

FACE_VERIFY_LIFETIME = 3600
# verify_ret while the user has not finished the face check on the phone (识别过程超时).
FACE_NOT_DONE = 90017
FACE_SUCCESS = 10000
_OUT_SEQ_NO = re.compile(r"[0-9A-Za-z_\-]{5,32}")

_SUBSCRIBE_KEY = re.compile(
    r"(thing|number|letter|symbol|character_string|time|date|amount|phone_number"
    r"|car_number|name|phrase|enum)\d+"
)
_CHINESE = r"\u3400-\u4dbf\u4e00-\u9fff"
_SCENE = re.compile(r"[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}")
_PAGE = re.compile(r"[A-Za-z0-9_\-.]+(?:/[A-Za-z0-9_\-.]+)*")
_PHONE = re.compile(r"1\d{10}")
_DATE_PART = re.compile(
    r"(?P<y>\d{4})(?:年(?P<m1>\d{1,2})月(?P<d1>\d{1,2})日"
    r"|-(?P<m2>\d{1,2})-(?P<d2>\d{1,2})|/(?P<m3>\d{1,2})/(?P<d3>\d{1,2}))"
)
_TIME_PART = re.compile(r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?")
_MINIPROGRAM_STATES = frozenset({"developer", "trial", "formal"})
_LANGS = frozenset({"zh_CN", "en_US", "zh_HK", "zh_TW"})
_ENV_VERSIONS = frozenset({"release", "trial", "develop"})


class SimRequestError(Exception):
    """A malformed request to the /sim control surface (answered with HTTP 400)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def wechat_error(errcode: int, errmsg: str | None = None) -> dict[str, Any]:
    """Build WeChat's ``{"errcode", "errmsg"}`` error body."""
    return {"errcode": errcode, "errmsg": errmsg or ERRMSGS.get(errcode, "simulated error")}


@dataclass
class _Token:
    expires_at: float
    stable: bool


@dataclass
class _Code:
    openid: str
    expires_at: float
    unionid: str | None = None
    phone: str | None = None


@dataclass
class _FaceSession:
    openid: str
    out_seq_no: str
    cert_hash: str
    expires_at: float
    verify_ret: int = FACE_NOT_DONE


def face_cert_hash(cert_type: str, cert_name: str, cert_no: str) -> str:
    """The digest queryVerifyInfo expects: base64(sha256 of the cert_info query string)."""
    text = f"cert_type={cert_type}&cert_name={cert_name}&cert_no={cert_no}"
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


@dataclass
class _Fault:
    endpoint: str
    errcode: int | None
    errmsg: str | None
    delay: float
    remaining: int

    def as_dict(self) -> dict[str, Any]:
        """Describe the pending fault for the control surface."""
        return {
            "endpoint": self.endpoint,
            "errcode": self.errcode,
            "errmsg": self.errmsg,
            "delay": self.delay,
            "times": self.remaining,
        }


@dataclass
class _State:
    tokens: dict[str, _Token] = field(default_factory=dict)
    stable_token: str | None = None
    login_codes: dict[str, _Code] = field(default_factory=dict)
    phone_codes: dict[str, _Code] = field(default_factory=dict)
    known_openids: set[str] = field(default_factory=set)
    credits: dict[tuple[str, str], int] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    faults: list[_Fault] = field(default_factory=list)
    calls: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=CALL_LOG_LIMIT))
    # template id -> required data keys (None: any keys with a valid type prefix).
    templates: dict[str, frozenset[str] | None] = field(
        default_factory=lambda: dict.fromkeys(DEFAULT_TEMPLATES)
    )
    risky_words: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_RISKY_WORDS))
    review_words: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_REVIEW_WORDS))
    clock_offset: float = 0.0
    face_sessions: dict[str, _FaceSession] = field(default_factory=dict)
    out_seq_nos: set[str] = field(default_factory=set)
    # Every mini-program code issued, oldest first: what a phone could scan.
    wxacodes: deque[dict[str, Any]] = field(
        default_factory=lambda: deque(maxlen=CALL_LOG_LIMIT))


def _valid_time_point(text: str) -> bool:
    """Check one WeChat date/time point such as ``2024年08月05日 08:00`` or ``15:01``."""
    rest = text.strip()
    date_match = _DATE_PART.match(rest)
    if date_match:
        year = int(date_match["y"])
        month = int(date_match["m1"] or date_match["m2"] or date_match["m3"])
        day = int(date_match["d1"] or date_match["d2"] or date_match["d3"])
        try:
            dt.date(year, month, day)
        except ValueError:
            return False
        rest = rest[date_match.end() :].strip()
        if not rest:
            return True
    time_match = _TIME_PART.fullmatch(rest)
    if not time_match:
        return False
    seconds = int(time_match["s"] or 0)
    return int(time_match["h"]) <= 23 and int(time_match["mi"]) <= 59 and seconds <= 59


def _valid_time_value(text: str) -> bool:
    """Check a ``time``/``date`` field: a point or a ``~``-separated range of two."""
    parts = text.split("~")
    return len(parts) <= 2 and all(_valid_time_point(part) for part in parts)


def _valid_name(text: str) -> bool:
    """Check a ``name`` field: ≤10 Chinese characters or ≤20 Latin letters/symbols."""
    if re.fullmatch(rf"[{_CHINESE}·]{{1,10}}", text):
        return True
    return re.fullmatch(r"[A-Za-z .·'\-]{1,20}", text) is not None


def valid_subscribe_field(key: str, value: str) -> bool:
    """Return whether ``value`` satisfies the WeChat rules for the data key's type prefix."""
    match = _SUBSCRIBE_KEY.fullmatch(key)
    if not match or not value.strip():
        return False
    kind = match.group(1)
    if kind == "thing":
        return len(value) <= 20
    if kind == "phrase":
        return re.fullmatch(rf"[{_CHINESE}]{{1,5}}", value) is not None
    if kind == "name":
        return _valid_name(value)
    if kind == "number":
        # WeChat: up to 32 digits, a decimal part is allowed.
        return len(value) <= 32 and re.fullmatch(r"\d+(?:\.\d+)?", value) is not None
    if kind == "letter":
        return re.fullmatch(r"[A-Za-z]{1,32}", value) is not None
    if kind == "character_string":
        return re.fullmatch(r"[\x20-\x7e]{1,32}", value) is not None
    if kind == "phone_number":
        return re.fullmatch(r"[0-9+\-() ]{1,17}", value) is not None
    if kind in ("time", "date"):
        return _valid_time_value(value)
    if kind == "symbol":
        return len(value) <= 5
    if kind == "car_number":
        return len(value) <= 8
    # amount and enum: WeChat checks them against approved values we do not know.
    return True


def _valid_page(page: object) -> bool:
    """Check a mini-program page path: relative, no leading slash."""
    return isinstance(page, str) and _PAGE.fullmatch(page) is not None


class WeChatSimulator:
    """All simulator state, guarded by one lock; the Flask routes are thin wrappers."""

    def __init__(
        self,
        appid: str = DEFAULT_APPID,
        secret: str = DEFAULT_SECRET,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """Create an empty simulator for one mini-program account."""
        self.appid = appid
        self.secret = secret
        self.lock = threading.Lock()
        self._clock = clock or time.time
        self._state = _State()
        # msgids stay unique across /sim/reset so a backend that keeps its database
        # between tests never sees the same msgid twice.
        self._msgids = itertools.count(2_000_000_001)

    # --- clock -----------------------------------------------------------------

    def now(self) -> float:
        """Return the simulator's current time (the clock plus the /sim/clock offset)."""
        return self._clock() + self._state.clock_offset

    def advance(self, seconds: float) -> float:
        """Move the simulator's clock forward and return the new time."""
        with self.lock:
            self._state.clock_offset += seconds
            return self.now()

    # --- whole-state operations ---------------------------------------------------

    def reset(self) -> None:
        """Forget every code, credit, message, fault, token and call; restore defaults."""
        with self.lock:
            self._state = _State()

    def expire_tokens(self) -> int:
        """Make every issued access token expired; return how many there were."""
        with self.lock:
            now = self.now()
            for token in self._state.tokens.values():
                token.expires_at = min(token.expires_at, now)
            return len(self._state.tokens)

    # --- credentials -------------------------------------------------------------------

    def check_credentials(self, grant_type: object, appid: object, secret: object) -> int:
        """Validate the appid/secret pair of a token request; return an errcode (0 = ok)."""
        if grant_type != "client_credential":
            return 40002
        if not appid:
            return 41002
        if appid != self.appid:
            return 40013
        if not secret:
            return 41004
        if secret != self.secret:
            return 40125
        return 0

    def issue_token(self) -> dict[str, Any]:
        """Issue a fresh ``cgi-bin/token`` access token."""
        with self.lock:
            now = self.now()
            # A new plain token shortens the life of the previous ones, as on WeChat.
            for token in self._state.tokens.values():
                if not token.stable:
                    token.expires_at = min(token.expires_at, now + TOKEN_GRACE_SECONDS)
            value = secrets.token_urlsafe(96)
            self._state.tokens[value] = _Token(now + TOKEN_LIFETIME, stable=False)
            return {"access_token": value, "expires_in": TOKEN_LIFETIME}

    def issue_stable_token(self, force_refresh: bool) -> dict[str, Any]:
        """Return the current stable token, rotating it when (nearly) expired or forced."""
        with self.lock:
            now = self.now()
            current = self._state.stable_token
            token = self._state.tokens.get(current) if current else None
            remaining = token.expires_at - now if token else 0.0
            if token and current and not force_refresh and remaining > STABLE_TOKEN_EARLY_REFRESH:
                return {"access_token": current, "expires_in": int(remaining)}
            if token and force_refresh:
                token.expires_at = min(token.expires_at, now + FORCE_REFRESH_GRACE_SECONDS)
            # In the early-refresh window the old token keeps its own expiry.
            value = secrets.token_urlsafe(96)
            self._state.tokens[value] = _Token(now + TOKEN_LIFETIME, stable=True)
            self._state.stable_token = value
            return {"access_token": value, "expires_in": TOKEN_LIFETIME}

    def check_access_token(self, value: str | None) -> int:
        """Return 0 for a usable access token, else WeChat's errcode for it."""
        if not value:
            return 41001
        with self.lock:
            token = self._state.tokens.get(value)
            if token is None:
                return 40001
            if token.expires_at <= self.now():
                return 42001
            return 0

    # --- codes -----------------------------------------------------------------------------

    def mint_login_code(self, openid: str, unionid: str | None = None) -> str:
        """Mint a single-use ``wx.login`` code for ``openid`` (5-minute life)."""
        code = secrets.token_hex(16)
        with self.lock:
            self._state.known_openids.add(openid)
            self._state.login_codes[code] = _Code(
                openid, self.now() + CODE_LIFETIME, unionid=unionid
            )
        return code

    def mint_phone_code(self, openid: str, phone: str) -> str:
        """Mint a single-use ``getPhoneNumber`` code for ``openid`` (5-minute life)."""
        code = secrets.token_hex(32)
        with self.lock:
            self._state.known_openids.add(openid)
            self._state.phone_codes[code] = _Code(openid, self.now() + CODE_LIFETIME, phone=phone)
        return code

    def _redeem(self, codes: dict[str, _Code], code: str) -> _Code | None:
        # Caller holds the lock.  A code is removed on first use, valid or expired.
        entry = codes.pop(code, None)
        if entry is None or entry.expires_at <= self.now():
            return None
        return entry

    def code_to_session(self, js_code: str) -> dict[str, Any]:
        """Exchange a login code for ``openid``/``session_key``/``unionid``."""
        with self.lock:
            entry = self._redeem(self._state.login_codes, js_code)
        if entry is None:
            return wechat_error(40029)
        # A fresh session key per login, as WeChat rotates it on every wx.login.
        result: dict[str, Any] = {
            "openid": entry.openid,
            "session_key": base64.b64encode(secrets.token_bytes(16)).decode("ascii"),
        }
        if entry.unionid:
            result["unionid"] = entry.unionid
        return result

    def phone_number(self, code: str) -> dict[str, Any]:
        """Exchange a phone code for WeChat's ``phone_info``."""
        with self.lock:
            entry = self._redeem(self._state.phone_codes, code)
            timestamp = int(self.now())
        if entry is None or entry.phone is None:
            return wechat_error(40029)
        return {
            "errcode": 0,
            "errmsg": "ok",
            "phone_info": {
                # Mainland numbers carry no country prefix in phoneNumber.
                "phoneNumber": entry.phone,
                "purePhoneNumber": entry.phone,
                "countryCode": "86",
                "watermark": {"timestamp": timestamp, "appid": self.appid},
            },
        }

    # --- face verification (人脸核身) -------------------------------------------------

    def get_verify_id(self, body: dict[str, Any]) -> dict[str, Any]:
        """getVerifyId: open a face-verification session for a real name + ID number."""
        out_seq_no = body.get("out_seq_no")
        cert = body.get("cert_info")
        openid = body.get("openid")
        if not isinstance(out_seq_no, str) or not _OUT_SEQ_NO.fullmatch(out_seq_no):
            return wechat_error(40097, "invalid args: out_seq_no")
        if not isinstance(cert, dict) or not all(
            isinstance(cert.get(k), str) and cert.get(k)
            for k in ("cert_type", "cert_name", "cert_no")
        ):
            return wechat_error(40097, "invalid args: cert_info")
        with self.lock:
            if openid not in self._state.known_openids:
                return wechat_error(40003)
            if out_seq_no in self._state.out_seq_nos:
                return wechat_error(40097, "invalid args: out_seq_no already used")
            self._state.out_seq_nos.add(out_seq_no)
            verify_id = secrets.token_urlsafe(24)
            self._state.face_sessions[verify_id] = _FaceSession(
                openid=str(openid), out_seq_no=out_seq_no,
                cert_hash=face_cert_hash(cert["cert_type"], cert["cert_name"], cert["cert_no"]),
                expires_at=self.now() + FACE_VERIFY_LIFETIME,
            )
        return {"errcode": 0, "errmsg": "ok", "verify_id": verify_id,
                "expires_in": FACE_VERIFY_LIFETIME}

    def finish_face_check(self, verify_id: str, verify_ret: int) -> None:
        """Stand in for the phone: the user finished wx.requestFacialVerify with a result."""
        with self.lock:
            session = self._state.face_sessions.get(verify_id)
            if session is None:
                raise SimRequestError("unknown verify_id", status=404)
            session.verify_ret = verify_ret

    def query_verify_info(self, body: dict[str, Any]) -> dict[str, Any]:
        """queryVerifyInfo: the real result of a face-verification session."""
        with self.lock:
            session = self._state.face_sessions.get(str(body.get("verify_id")))
            if session is None or session.expires_at <= self.now():
                return wechat_error(84001)
            if (body.get("out_seq_no") != session.out_seq_no
                    or body.get("openid") != session.openid
                    or body.get("cert_hash") != session.cert_hash):
                return wechat_error(40097, "invalid args: out_seq_no, openid or cert_hash")
            return {"errcode": 0, "errmsg": "ok", "verify_ret": session.verify_ret}

    # --- subscribe messages ---------------------------------------------------------

    def register_template(self, template_id: str, fields: Iterable[str] | None = None) -> None:
        """Register a subscribe-message template id (optionally with its exact data keys)."""
        with self.lock:
            self._state.templates[template_id] = frozenset(fields) if fields is not None else None

    def templates(self) -> dict[str, list[str] | None]:
        """Return the registered template ids with their data keys (None: unchecked)."""
        with self.lock:
            return {
                tpl: sorted(keys) if keys is not None else None
                for tpl, keys in self._state.templates.items()
            }

    def grant_credit(self, openid: str, template_id: str) -> int:
        """Record one "allow" tap for a one-time subscription; return the credit count."""
        with self.lock:
            if template_id not in self._state.templates:
                raise SimRequestError(f"template_id {template_id!r} is not registered")
            key = (openid, template_id)
            self._state.credits[key] = self._state.credits.get(key, 0) + 1
            return self._state.credits[key]

    def credits(self, openid: str, template_id: str) -> int:
        """Return the remaining one-time credits of ``openid`` for ``template_id``."""
        with self.lock:
            return self._state.credits.get((openid, template_id), 0)

    def _check_subscribe_data(self, template_id: str, data: object) -> dict[str, Any] | None:
        # Caller holds the lock.  Returns a WeChat error body or None when valid.
        if not isinstance(data, dict) or not data:
            return wechat_error(47001)
        required = self._state.templates.get(template_id)
        missing = sorted(required - data.keys()) if required is not None else []
        if missing:
            return wechat_error(47003, f"argument invalid! data.{missing[0]}.value is empty")
        for key, item in data.items():
            value = item.get("value") if isinstance(item, dict) else None
            unexpected = required is not None and key not in required
            if unexpected or not isinstance(value, str) or not valid_subscribe_field(key, value):
                return wechat_error(47003, f"argument invalid! data.{key}.value invalid")
        return None

    def send_subscribe(self, body: dict[str, Any]) -> dict[str, Any]:
        """Validate and deliver a subscribe message, consuming one credit."""
        touser = body.get("touser")
        template_id = body.get("template_id")
        page = body.get("page")
        state = body.get("miniprogram_state")
        lang = body.get("lang")
        with self.lock:
            if not isinstance(touser, str) or touser not in self._state.known_openids:
                return wechat_error(40003)
            if not isinstance(template_id, str) or template_id not in self._state.templates:
                return wechat_error(40037)
            # Subscribe messages may carry a query string after the page path.
            page_path = page.split("?", 1)[0] if isinstance(page, str) else page
            if page is not None and not _valid_page(page_path):
                return wechat_error(41030)
            if state is not None and state not in _MINIPROGRAM_STATES:
                return wechat_error(40097)
            if lang is not None and lang not in _LANGS:
                return wechat_error(40097)
            # Field errors are reported before the credit check so a bad payload
            # never burns the user's one-time subscription.
            error = self._check_subscribe_data(template_id, body.get("data"))
            if error:
                return error
            key = (touser, template_id)
            if self._state.credits.get(key, 0) <= 0:
                return wechat_error(43101)
            self._state.credits[key] -= 1
            msgid = next(self._msgids)
            self._state.messages.append(
                {
                    "msgid": msgid,
                    "touser": touser,
                    "template_id": template_id,
                    "page": page,
                    "data": body.get("data"),
                    "miniprogram_state": state,
                    "lang": lang,
                    "sent_at": self.now(),
                }
            )
        return {"errcode": 0, "errmsg": "ok", "msgid": msgid}

    def messages(self, openid: str | None = None) -> list[dict[str, Any]]:
        """Return delivered subscribe messages in order, optionally for one openid."""
        with self.lock:
            return [
                dict(message)
                for message in self._state.messages
                if openid is None or message["touser"] == openid
            ]

    # --- mini-program codes -------------------------------------------------------

    def wxacode(self, body: dict[str, Any]) -> dict[str, Any] | bytes:
        """Render an unlimited mini-program code as PNG bytes, or return a WeChat error."""
        scene = body.get("scene")
        page = body.get("page")
        env_version = body.get("env_version", "release")
        if not isinstance(scene, str) or not _SCENE.fullmatch(scene):
            return wechat_error(40169)
        if page is not None and not _valid_page(page):
            return wechat_error(41030)
        if env_version not in _ENV_VERSIONS:
            return wechat_error(40097)
        width = body.get("width", 430)
        if not isinstance(width, int) or isinstance(width, bool):
            width = 430
        # WeChat clamps width to 280..1280 px instead of rejecting it.
        width = max(280, min(1280, width))
        with self.lock:
            self._state.wxacodes.append({"page": page or "", "scene": scene,
                                         "env_version": env_version, "width": width,
                                         "issued_at": self.now()})
        qr = qrcode.QRCode(border=2)
        qr.add_data(f"wxacode:{page or ''}?scene={scene}")
        qr.make(fit=True)
        qr.box_size = max(1, width // (qr.modules_count + 2 * qr.border))
        image = qr.make_image()
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue()

    def wxacodes(self, page: str | None = None) -> list[dict[str, Any]]:
        """The mini-program codes issued, oldest first, optionally for one page."""
        with self.lock:
            return [dict(code) for code in self._state.wxacodes
                    if page is None or code["page"] == page]

    # --- content security ---------------------------------------------------------------

    def add_sec_words(
        self, risky: Mapping[str, int] | None = None, review: Mapping[str, int] | None = None
    ) -> dict[str, dict[str, int]]:
        """Add words to the risky/review lists; return both lists."""
        with self.lock:
            self._state.risky_words.update(risky or {})
            self._state.review_words.update(review or {})
            return self._sec_words()

    def sec_words(self) -> dict[str, dict[str, int]]:
        """Return the current risky/review word lists."""
        with self.lock:
            return self._sec_words()

    def _sec_words(self) -> dict[str, dict[str, int]]:
        return {"risky": dict(self._state.risky_words), "review": dict(self._state.review_words)}

    def msg_sec_check(self, body: dict[str, Any]) -> dict[str, Any]:
        """Answer ``msg_sec_check`` v2 from the configured word lists."""
        openid = body.get("openid")
        scene = body.get("scene")
        content = body.get("content")
        if body.get("version") != 2:
            return wechat_error(40097)
        with self.lock:
            known = isinstance(openid, str) and openid in self._state.known_openids
            risky_words = dict(self._state.risky_words)
            review_words = dict(self._state.review_words)
        if not known:
            return wechat_error(40003)
        if scene not in (1, 2, 3, 4) or isinstance(scene, bool):
            return wechat_error(40097)
        if not isinstance(content, str) or not content.strip():
            return wechat_error(44004)
        if len(content) > MAX_SEC_CHECK_CHARS:
            return wechat_error(47001)
        extras = (body.get(name) for name in ("title", "nickname", "signature"))
        text = "\n".join([content, *(extra for extra in extras if isinstance(extra, str))])
        detail: list[dict[str, Any]] = []
        for suggest, words in (("risky", risky_words), ("review", review_words)):
            for word, label in words.items():
                if word in text:
                    detail.append(
                        {
                            "strategy": "keyword",
                            "errcode": 0,
                            "suggest": suggest,
                            "label": label,
                            "level": 90 if suggest == "risky" else 60,
                            "keyword": word,
                        }
                    )
        verdict = detail[0] if detail else {"suggest": "pass", "label": 100}
        model = {
            "strategy": "content_model",
            "errcode": 0,
            "suggest": verdict["suggest"],
            "label": verdict["label"],
            "prob": 90 if detail else 0,
        }
        return {
            "errcode": 0,
            "errmsg": "ok",
            "result": {"suggest": verdict["suggest"], "label": verdict["label"]},
            "detail": [model, *detail],
            "trace_id": "-".join(secrets.token_hex(4) for _ in range(3)),
        }

    # --- faults and the call log -------------------------------------------------------

    def add_fault(
        self,
        endpoint: str,
        *,
        errcode: int | None = None,
        errmsg: str | None = None,
        delay: float = 0.0,
        times: int = 1,
    ) -> list[dict[str, Any]]:
        """Queue a fault for the next ``times`` calls to ``endpoint``; return pending faults."""
        with self.lock:
            self._state.faults.append(_Fault(endpoint, errcode, errmsg, delay, times))
            return [fault.as_dict() for fault in self._state.faults]

    def faults(self) -> list[dict[str, Any]]:
        """Return the pending faults in the order they will fire."""
        with self.lock:
            return [fault.as_dict() for fault in self._state.faults]

    def clear_faults(self) -> None:
        """Drop every pending fault."""
        with self.lock:
            self._state.faults.clear()

    def take_fault(self, endpoint: str) -> _Fault | None:
        """Consume one use of the oldest pending fault for ``endpoint``, if any."""
        with self.lock:
            for fault in self._state.faults:
                if fault.endpoint == endpoint:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._state.faults.remove(fault)
                    return fault
        return None

    def record_call(self, endpoint: str, errcode: int) -> None:
        """Append a WeChat-endpoint call to the log (never secrets or session keys)."""
        with self.lock:
            self._state.calls.append({"endpoint": endpoint, "at": self.now(), "errcode": errcode})

    def calls(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        """Return the call log, optionally for one endpoint."""
        with self.lock:
            return [
                dict(call)
                for call in self._state.calls
                if endpoint is None or call["endpoint"] == endpoint
            ]


# --------------------------------------------------------------------------------------
# HTTP layer
# --------------------------------------------------------------------------------------

wechat_api = Blueprint("wechat_api", __name__)
sim_api = Blueprint("wechat_sim_control", __name__, url_prefix="/sim")

_Handler = Callable[[WeChatSimulator], "dict[str, Any] | bytes"]


def _sim() -> WeChatSimulator:
    simulator: WeChatSimulator = current_app.extensions["wechat_sim"]
    return simulator


def _wechat_body() -> dict[str, Any] | None:
    # wechatpy posts UTF-8 JSON bytes without a Content-Type, hence force=True.
    body = request.get_json(force=True, silent=True)
    return body if isinstance(body, dict) else None


def _answer(endpoint: str, handler: _Handler, *, needs_token: bool = True) -> Response:
    """Run a WeChat endpoint: injected faults, access-token check, handler, call log."""
    simulator = _sim()
    fault = simulator.take_fault(endpoint)
    if fault is not None and fault.delay > 0:
        # Sleep outside the lock so other requests proceed while this one hangs.
        time.sleep(fault.delay)
    result: dict[str, Any] | bytes
    if fault is not None and fault.errcode is not None:
        result = wechat_error(fault.errcode, fault.errmsg)
    else:
        token = request.args.get("access_token")
        token_error = simulator.check_access_token(token) if needs_token else 0
        result = wechat_error(token_error) if token_error else handler(simulator)
    if isinstance(result, bytes):
        simulator.record_call(endpoint, 0)
        return Response(result, mimetype="image/png")
    simulator.record_call(endpoint, int(result.get("errcode", 0)))
    return jsonify(result)


@wechat_api.get("/cgi-bin/token")
def get_access_token() -> Response:
    """getAccessToken: issue a new access token for the appid/secret pair."""

    def handle(simulator: WeChatSimulator) -> dict[str, Any]:
        args = request.args
        errcode = simulator.check_credentials(
            args.get("grant_type"), args.get("appid"), args.get("secret")
        )
        return wechat_error(errcode) if errcode else simulator.issue_token()

    return _answer("token", handle, needs_token=False)


@wechat_api.post("/cgi-bin/stable_token")
def get_stable_access_token() -> Response:
    """getStableAccessToken: the same token while valid, a new one when expired or forced."""

    def handle(simulator: WeChatSimulator) -> dict[str, Any]:
        body = _wechat_body()
        if body is None:
            return wechat_error(47001)
        errcode = simulator.check_credentials(
            body.get("grant_type"), body.get("appid"), body.get("secret")
        )
        if errcode:
            return wechat_error(errcode)
        return simulator.issue_stable_token(body.get("force_refresh") is True)

    return _answer("stable_token", handle, needs_token=False)


@wechat_api.get("/sns/jscode2session")
def jscode2session() -> Response:
    """code2Session: exchange a wx.login code (wechatpy's extra access_token is ignored)."""

    def handle(simulator: WeChatSimulator) -> dict[str, Any]:
        args = request.args
        if args.get("grant_type") != "authorization_code":
            return wechat_error(40002)
        if args.get("appid") != simulator.appid:
            return wechat_error(40013)
        if args.get("secret") != simulator.secret:
            return wechat_error(40125)
        js_code = args.get("js_code")
        if not js_code:
            return wechat_error(41008)
        return simulator.code_to_session(js_code)

    return _answer("jscode2session", handle, needs_token=False)


@wechat_api.post("/wxa/business/getuserphonenumber")
def get_user_phone_number() -> Response:
    """getPhoneNumber: exchange a phone code for ``phone_info``."""

    def handle(simulator: WeChatSimulator) -> dict[str, Any]:
        body = _wechat_body()
        if body is None:
            return wechat_error(47001)
        code = body.get("code")
        if not isinstance(code, str) or not code:
            return wechat_error(40029)
        return simulator.phone_number(code)

    return _answer("getuserphonenumber", handle)


@wechat_api.post("/cgi-bin/message/subscribe/send")
def send_subscribe_message() -> Response:
    """subscribeMessage.send: deliver a one-time subscribe message."""

    def handle(simulator: WeChatSimulator) -> dict[str, Any]:
        body = _wechat_body()
        return wechat_error(47001) if body is None else simulator.send_subscribe(body)

    return _answer("subscribe_send", handle)


@wechat_api.post("/wxa/getwxacodeunlimit")
def get_wxacode_unlimit() -> Response:
    """getUnlimitedQRCode: a PNG mini-program code for a scene, or a JSON error."""

    def handle(simulator: WeChatSimulator) -> dict[str, Any] | bytes:
        body = _wechat_body()
        return wechat_error(47001) if body is None else simulator.wxacode(body)

    return _answer("getwxacodeunlimit", handle)


@wechat_api.post("/wxa/msg_sec_check")
def msg_sec_check() -> Response:
    """msgSecCheck v2: classify text as pass, review or risky."""

    def handle(simulator: WeChatSimulator) -> dict[str, Any]:
        body = _wechat_body()
        return wechat_error(47001) if body is None else simulator.msg_sec_check(body)

    return _answer("msg_sec_check", handle)


@wechat_api.post("/cityservice/face/identify/getverifyid")
def get_verify_id() -> Response:
    """getVerifyId: start WeChat face verification (人脸核身) for name + ID number."""

    def handle(simulator: WeChatSimulator) -> dict[str, Any]:
        body = _wechat_body()
        return wechat_error(47001) if body is None else simulator.get_verify_id(body)

    return _answer("getverifyid", handle)


@wechat_api.post("/cityservice/face/identify/queryverifyinfo")
def query_verify_info() -> Response:
    """queryVerifyInfo: the true result of a face-verification session."""

    def handle(simulator: WeChatSimulator) -> dict[str, Any]:
        body = _wechat_body()
        return wechat_error(47001) if body is None else simulator.query_verify_info(body)

    return _answer("queryverifyinfo", handle)


@wechat_api.get("/")
def index() -> Response:
    """List the WeChat endpoints and the /sim control surface."""
    simulator = _sim()
    return jsonify(
        {
            "name": "WeChat API simulator (development only)",
            "appid": simulator.appid,
            "wechat_endpoints": [
                "GET /cgi-bin/token",
                "POST /cgi-bin/stable_token",
                "GET /sns/jscode2session",
                "POST /wxa/business/getuserphonenumber",
                "POST /cgi-bin/message/subscribe/send",
                "POST /wxa/getwxacodeunlimit",
                "POST /wxa/msg_sec_check",
                "POST /cityservice/face/identify/getverifyid",
                "POST /cityservice/face/identify/queryverifyinfo",
            ],
            "control_endpoints": {
                "POST /sim/login-code": "{openid, unionid?} -> {code}",
                "POST /sim/phone-code": "{openid, phone} -> {code}",
                "POST /sim/subscribe": "{openid, template_id} -> {credits}",
                "POST /sim/face-verify": "{verify_id, verify_ret=10000} -> finishes the face check",
                "GET /sim/credits": "?openid=&template_id= -> {credits}",
                "GET /sim/messages": "?openid= -> {messages}",
                "GET /sim/wxacodes": "?page= -> {wxacodes: [{page, scene, env_version, "
                                     "width, issued_at}]}",
                "GET /sim/templates": "-> {templates}",
                "POST /sim/templates": "{template_id, fields?} -> {templates}",
                "GET /sim/sec-words": "-> {risky, review}",
                "POST /sim/sec-words": "{risky?, review?} -> {risky, review}",
                "GET /sim/faults": "-> {faults}",
                "POST /sim/faults": "{endpoint, errcode?, errmsg?, delay?, times?} -> {faults}",
                "DELETE /sim/faults": "-> {faults: []}",
                "POST /sim/expire-tokens": "-> {expired}",
                "POST /sim/clock": "{advance_seconds} -> {now}",
                "GET /sim/clock": "-> {now}",
                "POST /sim/reset": "-> {ok}",
                "GET /sim/calls": "?endpoint= -> {calls}",
                "GET /sim/health": "-> {ok}",
            },
            "fault_endpoints": sorted(FAULT_ENDPOINTS),
        }
    )


def _control_body() -> dict[str, Any]:
    """Parse a /sim request body; an empty body counts as ``{}``."""
    if not request.get_data():
        return {}
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise SimRequestError("request body must be a JSON object")
    return body


def _required_str(body: Mapping[str, Any], name: str, max_length: int = 128) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > max_length:
        raise SimRequestError(f"{name} must be a non-empty string of at most {max_length} chars")
    return value


def _optional_str(body: Mapping[str, Any], name: str, max_length: int = 128) -> str | None:
    if body.get(name) is None:
        return None
    return _required_str(body, name, max_length)


def _word_map(value: object, default_label: int, name: str) -> dict[str, int]:
    """Accept ``["word", ...]`` or ``{"word": label}`` for the sec-check word lists."""
    if value is None:
        return {}
    if isinstance(value, list) and all(isinstance(word, str) and word for word in value):
        return dict.fromkeys(value, default_label)
    if isinstance(value, dict) and all(
        isinstance(word, str) and word and isinstance(label, int) and not isinstance(label, bool)
        for word, label in value.items()
    ):
        return dict(value)
    raise SimRequestError(f"{name} must be a list of words or an object of word -> label")


@sim_api.post("/login-code")
def sim_login_code() -> Response:
    """Mint a wx.login code for an openid, as the phone's wx.login() would."""
    body = _control_body()
    openid = _required_str(body, "openid")
    unionid = _optional_str(body, "unionid")
    return jsonify({"code": _sim().mint_login_code(openid, unionid)})


@sim_api.post("/phone-code")
def sim_phone_code() -> Response:
    """Mint a getPhoneNumber code, as the phone's phone-number button would."""
    body = _control_body()
    openid = _required_str(body, "openid")
    phone = body.get("phone")
    if not isinstance(phone, str) or not _PHONE.fullmatch(phone):
        raise SimRequestError("phone must be 11 digits starting with 1")
    return jsonify({"code": _sim().mint_phone_code(openid, phone)})


@sim_api.post("/face-verify")
def sim_face_verify() -> Response:
    """The user finishes the face check on the phone (verify_ret 10000 = success)."""
    body = _control_body()
    verify_id = _required_str(body, "verify_id", max_length=256)
    verify_ret = body.get("verify_ret", FACE_SUCCESS)
    if not isinstance(verify_ret, int) or isinstance(verify_ret, bool):
        raise SimRequestError("verify_ret must be an integer")
    _sim().finish_face_check(verify_id, verify_ret)
    return jsonify({"verify_id": verify_id, "verify_ret": verify_ret})


@sim_api.post("/subscribe")
def sim_subscribe() -> Response:
    """Grant one one-time subscription credit, as the user tapping "allow"."""
    body = _control_body()
    openid = _required_str(body, "openid")
    template_id = _required_str(body, "template_id")
    return jsonify({"credits": _sim().grant_credit(openid, template_id)})


@sim_api.get("/credits")
def sim_credits() -> Response:
    """Return the remaining credits of an openid for a template."""
    openid = _required_str(request.args, "openid")
    template_id = _required_str(request.args, "template_id")
    return jsonify({"credits": _sim().credits(openid, template_id)})


@sim_api.get("/messages")
def sim_messages() -> Response:
    """Return delivered subscribe messages, in order, for one openid or all."""
    return jsonify({"messages": _sim().messages(request.args.get("openid") or None)})


@sim_api.get("/wxacodes")
def sim_wxacodes() -> Response:
    """The mini-program codes issued (page and scene), oldest first: what a phone could scan."""
    return jsonify({"wxacodes": _sim().wxacodes(request.args.get("page") or None)})


@sim_api.get("/templates")
def sim_templates() -> Response:
    """List the registered subscribe-message templates."""
    return jsonify({"templates": _sim().templates()})


@sim_api.post("/templates")
def sim_register_template() -> Response:
    """Register a subscribe-message template id, optionally with its exact data keys."""
    body = _control_body()
    template_id = _required_str(body, "template_id")
    fields = body.get("fields")
    if fields is not None and not (
        isinstance(fields, list)
        and fields
        and all(isinstance(key, str) and _SUBSCRIBE_KEY.fullmatch(key) for key in fields)
    ):
        raise SimRequestError("fields must be a non-empty list of keys such as thing1, time2")
    simulator = _sim()
    simulator.register_template(template_id, fields)
    return jsonify({"templates": simulator.templates()})


@sim_api.get("/sec-words")
def sim_sec_words() -> Response:
    """Return the words that make msg_sec_check answer risky or review."""
    return jsonify(_sim().sec_words())


@sim_api.post("/sec-words")
def sim_add_sec_words() -> Response:
    """Add words that make msg_sec_check answer risky or review."""
    body = _control_body()
    risky = _word_map(body.get("risky"), 20006, "risky")
    review = _word_map(body.get("review"), 21000, "review")
    return jsonify(_sim().add_sec_words(risky, review))


@sim_api.get("/faults")
def sim_faults() -> Response:
    """List pending injected faults."""
    return jsonify({"faults": _sim().faults()})


@sim_api.post("/faults")
def sim_add_fault() -> Response:
    """Make the next calls to a WeChat endpoint fail with an errcode and/or hang."""
    body = _control_body()
    endpoint = body.get("endpoint")
    if endpoint not in FAULT_ENDPOINTS:
        raise SimRequestError(f"endpoint must be one of {', '.join(sorted(FAULT_ENDPOINTS))}")
    errcode = body.get("errcode")
    if errcode is not None and (
        not isinstance(errcode, int) or isinstance(errcode, bool) or errcode == 0
    ):
        raise SimRequestError("errcode must be a non-zero integer")
    errmsg = _optional_str(body, "errmsg", 256)
    delay = body.get("delay", 0)
    if not isinstance(delay, int | float) or isinstance(delay, bool):
        raise SimRequestError("delay must be a number of seconds")
    if not 0 <= delay <= MAX_FAULT_DELAY:
        raise SimRequestError(f"delay must be between 0 and {MAX_FAULT_DELAY:g} seconds")
    times = body.get("times", 1)
    if not isinstance(times, int) or isinstance(times, bool) or times < 1:
        raise SimRequestError("times must be a positive integer")
    if errcode is None and not delay:
        raise SimRequestError("give errcode, delay or both")
    faults = _sim().add_fault(
        endpoint, errcode=errcode, errmsg=errmsg, delay=float(delay), times=times
    )
    return jsonify({"faults": faults})


@sim_api.delete("/faults")
def sim_clear_faults() -> Response:
    """Drop every pending fault."""
    _sim().clear_faults()
    return jsonify({"faults": []})


@sim_api.post("/expire-tokens")
def sim_expire_tokens() -> Response:
    """Expire every issued access token so clients must refresh."""
    return jsonify({"expired": _sim().expire_tokens()})


@sim_api.get("/clock")
def sim_clock() -> Response:
    """Return the simulator's current time."""
    return jsonify({"now": _sim().now()})


@sim_api.post("/clock")
def sim_advance_clock() -> Response:
    """Move the simulator's clock forward by ``advance_seconds``."""
    body = _control_body()
    seconds = body.get("advance_seconds")
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
        raise SimRequestError("advance_seconds must be a non-negative number")
    return jsonify({"now": _sim().advance(float(seconds))})


@sim_api.post("/reset")
def sim_reset() -> Response:
    """Clear all state and restore the default templates and word lists."""
    _sim().reset()
    return jsonify({"ok": True})


@sim_api.get("/calls")
def sim_calls() -> Response:
    """Return the log of WeChat-endpoint calls, optionally for one endpoint."""
    return jsonify({"calls": _sim().calls(request.args.get("endpoint") or None)})


@sim_api.get("/health")
def sim_health() -> Response:
    """Liveness probe."""
    return jsonify({"ok": True})


def _handle_sim_error(error: SimRequestError) -> tuple[Response, int]:
    return jsonify({"error": error.message}), error.status


def _handle_http_error(error: HTTPException) -> tuple[Response, int]:
    # JSON instead of Werkzeug's HTML pages, which nobody reads in API tests.
    return jsonify({"error": error.description or error.name}), error.code or 500


def create_simulator_app(
    appid: str = DEFAULT_APPID,
    secret: str = DEFAULT_SECRET,
    *,
    clock: Callable[[], float] | None = None,
) -> Flask:
    """Build the simulator Flask app; its state is ``app.extensions["wechat_sim"]``."""
    app = Flask(__name__)
    app.extensions["wechat_sim"] = WeChatSimulator(appid, secret, clock=clock)
    app.register_blueprint(wechat_api)
    app.register_blueprint(sim_api)
    app.register_error_handler(SimRequestError, _handle_sim_error)
    app.register_error_handler(HTTPException, _handle_http_error)
    return app


class _QueryStringFilter(logging.Filter):
    """Remove query strings from Werkzeug's request log lines."""

    _QUERY = re.compile(r"\?[^ \"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(self._QUERY.sub("?…", a) if isinstance(a, str) else a
                                for a in record.args)
        return True


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point: serve the simulator on a threaded Werkzeug server."""
    parser = argparse.ArgumentParser(description="WeChat API simulator (development only)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--appid", default=os.environ.get("WECHAT_APPID") or DEFAULT_APPID)
    parser.add_argument("--secret", default=os.environ.get("WECHAT_SECRET") or DEFAULT_SECRET)
    args = parser.parse_args(argv)
    # Request lines carry secrets, codes and tokens in their query strings: drop them.
    logging.getLogger("werkzeug").addFilter(_QueryStringFilter())
    app = create_simulator_app(args.appid, args.secret)
    # make_server binds before we announce the address, and reports the real port
    # when --port 0 asks the OS to choose one.
    server = make_server(args.host, args.port, app, threaded=True)
    print(f"WeChat simulator listening on http://{args.host}:{server.server_port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
