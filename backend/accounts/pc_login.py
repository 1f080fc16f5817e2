"""A parent signs in on a PC by scanning a mini-program code with WeChat (docs/PC_LOGIN.md).

1. The PC browser starts a sign-in (`start`): a random request id, and a second random
   secret that only the browser keeps (an HttpOnly, SameSite=Strict cookie scoped to the
   request's URLs; Redis keeps its SHA-256). The code's scene is a nonce derived from both
   with the app's key, so it exists nowhere at rest and only that browser can show it.
2. The phone scans it (`scan`, the parent's bearer token): the request is now that
   parent's, and the phone shows where the PC is (time, browser, address prefix).
3. The same parent confirms or refuses on the phone (`decide`).
4. The PC, polling, collects a confirmation once (`poll`): the request is deleted and the
   browser gets the parent's web session cookie (accounts/web.py).

Each step is one Lua script on the request's hash, so two phones or two polls can never
both win. A request lives `PC_LOGIN_TTL_SECONDS` (2 minutes); for a few minutes after, it
still answers "expired" rather than "unknown". Nothing here logs or audits the nonce.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import logging
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from flask import current_app, request
from werkzeug.sansio.response import Response as BaseResponse

from backend.accounts.models import User
from backend.accounts.services import start_parent_web_session
from backend.audit.services import client_fingerprint
from backend.core.db import db
from backend.core.errors import ApiError
from backend.core.jobs import enqueue_after_commit
from backend.core.redis import redis_store
from backend.wechat.client import WeChatError, WeChatUnavailable, wechat

logger = logging.getLogger(__name__)

# The mini-program page the code opens (it reads decodeURIComponent(options.scene)).
PAGE = "packages/account/pc-login/pc-login"
# getwxacodeunlimit's scene: at most 32 characters; "l=" + 22 base62 characters (131 bits).
SCENE = re.compile(r"^l=[0-9A-Za-z]{22}$")
REQUEST_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# After its life, a request still answers "expired" (not "unknown") this long.
TOMBSTONE_SECONDS = 300
# A confirmation made at the last second can still be collected by the PC's next poll.
COLLECT_GRACE_SECONDS = 30
QR_WIDTH = 430
COOKIE = "pc_login"
URL_PREFIX = "/api/v1/auth/pc-login/"

# KEYS: the request. ARGV: nonce hash, parent's user id, now.
# Returns {outcome, created, exp, browser, os, address}.
_SCAN = """
local f = redis.call('HMGET', KEYS[1], 'nonce', 'state', 'exp', 'uid',
                     'created', 'ua_browser', 'ua_os', 'addr')
if not f[1] or f[1] ~= ARGV[1] then return {'missing'} end
local outcome
if (f[2] == 'pending' or f[2] == 'scanned') and tonumber(f[3]) <= tonumber(ARGV[3]) then
  outcome = 'expired'
elseif f[2] == 'pending' then
  redis.call('HSET', KEYS[1], 'state', 'scanned', 'uid', ARGV[2])
  outcome = 'scanned'
elseif f[2] == 'scanned' and f[4] == ARGV[2] then
  outcome = 'rescanned'
elseif f[2] == 'scanned' then
  outcome = 'taken'
else
  outcome = 'used'
end
return {outcome, f[5], f[3], f[6], f[7], f[8]}
"""

# KEYS: the request. ARGV: nonce hash, parent's user id, now, 'confirmed' | 'refused'.
_DECIDE = """
local f = redis.call('HMGET', KEYS[1], 'nonce', 'state', 'exp', 'uid')
if not f[1] or f[1] ~= ARGV[1] then return 'missing' end
if (f[2] == 'pending' or f[2] == 'scanned') and tonumber(f[3]) <= tonumber(ARGV[3]) then
  return 'expired'
end
if f[2] == 'pending' then return 'not_scanned' end
if f[2] ~= 'scanned' then return 'used' end
if f[4] ~= ARGV[2] then return 'taken' end
redis.call('HSET', KEYS[1], 'state', ARGV[4])
return ARGV[4]
"""

# KEYS: the request. ARGV: browser secret's hash, now, grace.
# Returns {state, exp, uid}; a confirmation is collected once: the request is deleted.
_POLL = """
local f = redis.call('HMGET', KEYS[1], 'browser', 'state', 'exp', 'uid')
if not f[1] or f[1] ~= ARGV[1] then return {'missing'} end
local exp = tonumber(f[3])
if f[2] == 'confirmed' then
  if exp + tonumber(ARGV[3]) < tonumber(ARGV[2]) then return {'expired', f[3]} end
  redis.call('DEL', KEYS[1])
  return {'collected', f[3], f[4]}
end
if (f[2] == 'pending' or f[2] == 'scanned') and exp <= tonumber(ARGV[2]) then
  return {'expired', f[3]}
end
return {f[2], f[3]}
"""

_scripts: dict[str, Any] = {}


def _run(name: str, source: str, key: str, *args: Any) -> Any:
    """EVALSHA one of the scripts above on one request's key."""
    client: Any = redis_store.client
    if name not in _scripts:
        _scripts[name] = client.register_script(source)
    result = _scripts[name](keys=[key], args=list(args), client=client)
    if isinstance(result, list):
        return [v.decode() if isinstance(v, bytes) else v for v in result]
    return result.decode() if isinstance(result, bytes) else result


@dataclass(frozen=True)
class Started:
    """A new sign-in: its id, the browser's secret (cookie only) and its life."""

    id: str
    secret: str
    expires_in: int


@dataclass(frozen=True)
class PcDetails:
    """What the phone shows before the parent confirms: where the sign-in comes from."""

    requested_at: dt.datetime
    browser: str
    os: str
    address: str
    expires_in: int


@dataclass(frozen=True)
class Polled:
    """The PC's view of its sign-in; `web_token` once a confirmation is collected."""

    state: str
    expires_in: int
    web_token: str | None = None


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _request_key(request_id: str) -> str:
    return redis_store.key("pc-login", request_id)


def _nonce_key(nonce_hash: str) -> str:
    return redis_store.key("pc-login-nonce", nonce_hash)


def _nonce(request_id: str, secret: str) -> str:
    """The code's scene: derived from the request and the browser's secret with the app key."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    number = int.from_bytes(
        hmac.new(key, f"pc-login\0{request_id}\0{secret}".encode(), hashlib.sha256).digest(),
        "big")
    chars = []
    for _ in range(22):
        number, digit = divmod(number, 62)
        chars.append(BASE62[digit])
    return "l=" + "".join(chars)


def _ttl() -> int:
    return int(current_app.config["PC_LOGIN_TTL_SECONDS"])


def _left(exp: Any, now: float) -> int:
    return max(int(float(exp) - now + 0.999), 0)


def _audit(action: str, request_id: str, user: User | None = None, **details: Any) -> None:
    enqueue_after_commit("audit.record", {
        "action": action, "actor_user_id": user.id if user else None,
        "actor_role": user.role.value if user else None, "object_type": "pc_login",
        "object_id": request_id, "client_fingerprint": client_fingerprint(request.remote_addr),
        "details": details,
    })


# --- the PC's details, as the phone shows them ----------------------------------------------

# Order matters: Edge and the Chinese browsers also say "Chrome", Chrome also says "Safari".
_BROWSERS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern)) for name, pattern in (
        ("Edge", r"Edg(?:e|A|iOS)?/(\d+)"),
        ("360浏览器", r"QIHU 360|360SE|360EE"),
        ("QQ浏览器", r"QQBrowser/(\d+)"),
        ("搜狗浏览器", r"MetaSr|SogouMobileBrowser"),
        ("微信", r"MicroMessenger/(\d+)"),
        ("Firefox", r"Firefox/(\d+)"),
        ("Opera", r"OPR/(\d+)"),
        ("Chrome", r"Chrom(?:e|ium)/(\d+)"),
        ("Safari", r"Version/(\d+)[.\d]* (?:Mobile/\S+ )?Safari/"),
        ("IE", r"MSIE (\d+)|Trident/.*rv:(\d+)"),
    ))
# Android says "Linux" and iPhones "Mac OS X": the specific names come first.
_SYSTEMS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern)) for name, pattern in (
        ("Windows 10/11", r"Windows NT 10\.0"),
        ("Windows 8.1", r"Windows NT 6\.3"),
        ("Windows 8", r"Windows NT 6\.2"),
        ("Windows 7", r"Windows NT 6\.1"),
        ("Windows", r"Windows"),
        ("Android", r"Android"),
        ("iPhone", r"iPhone"),
        ("iPad", r"iPad"),
        ("macOS", r"Macintosh|Mac OS X"),
        ("统信UOS", r"\bUOS\b|UnionTech"),
        ("麒麟", r"Kylin"),
        ("ChromeOS", r"CrOS"),
        ("Linux", r"Linux|X11"),
    ))


def describe_user_agent(user_agent: str) -> tuple[str, str]:
    """(browser with its major version, operating system) from a User-Agent, roughly."""
    text = user_agent[:512]
    browser = next((f"{name} {next((v for v in m.groups() if v), '')}".strip()
                    for name, pattern in _BROWSERS if (m := pattern.search(text))), "未知浏览器")
    system = next((name for name, pattern in _SYSTEMS if pattern.search(text)), "未知系统")
    return browser, system


def address_prefix(address: str | None) -> str:
    """The network an address belongs to, never the address: 36.112.*.*, 2408:8207:*."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return "未知"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv4Address):
        first, second = str(ip).split(".")[:2]
        return f"{first}.{second}.*.*"
    groups = [group.lstrip("0") or "0" for group in ip.exploded.split(":")[:2]]
    return f"{groups[0]}:{groups[1]}:*"


# --- the binding cookie ----------------------------------------------------------------------


def _cookie_name() -> str:
    # __Secure-, not __Host-: the cookie is scoped to its request's URLs, not to Path=/.
    secure = bool(current_app.config["STAFF_WEB_COOKIE_SECURE"])
    return f"__Secure-{COOKIE}" if secure else COOKIE


def set_binding_cookie(response: BaseResponse, started: Started) -> None:
    """Bind the sign-in to this browser: the secret, sent only to the request's own URLs."""
    response.set_cookie(_cookie_name(), started.secret, max_age=started.expires_in
                        + TOMBSTONE_SECONDS, path=URL_PREFIX + started.id, httponly=True,
                        secure=bool(current_app.config["STAFF_WEB_COOKIE_SECURE"]),
                        samesite="Strict")


def clear_binding_cookie(response: BaseResponse, request_id: str) -> None:
    """Forget the collected sign-in's secret in the browser."""
    response.delete_cookie(_cookie_name(), path=URL_PREFIX + request_id, httponly=True,
                           secure=bool(current_app.config["STAFF_WEB_COOKIE_SECURE"]),
                           samesite="Strict")


def binding_secret() -> str:
    """The browser's secret for the request it asks about ('' without the cookie)."""
    return request.cookies.get(_cookie_name(), "")[:128]


# --- the steps -------------------------------------------------------------------------------


def _not_found() -> ApiError:
    return ApiError(404, "PC_LOGIN_NOT_FOUND", "二维码无效或已过期，请在电脑上刷新二维码后重新扫码")


def _expired() -> ApiError:
    return ApiError(410, "PC_LOGIN_EXPIRED", "二维码已过期，请在电脑上刷新二维码后重新扫码")


def start(user_agent: str, address: str | None) -> Started:
    """A new sign-in for the browser asking; its secret goes into the browser's cookie only."""
    request_id, secret = secrets.token_urlsafe(16), secrets.token_urlsafe(32)
    nonce_hash = _digest(_nonce(request_id, secret))
    ttl, now = _ttl(), time.time()
    browser, system = describe_user_agent(user_agent)
    key = _request_key(request_id)
    with redis_store.client.pipeline() as pipe:
        pipe.hset(key, mapping={
            "state": "pending", "browser": _digest(secret), "nonce": nonce_hash,
            "created": f"{now:.3f}", "exp": f"{now + ttl:.3f}", "ua_browser": browser,
            "ua_os": system, "addr": address_prefix(address)})
        pipe.expire(key, ttl + TOMBSTONE_SECONDS)
        pipe.set(_nonce_key(nonce_hash), request_id, ex=ttl + TOMBSTONE_SECONDS)
        pipe.execute()
    _audit("pc_login.requested", request_id, browser=browser, os=system)
    logger.info("pc login requested id=%s", request_id)
    return Started(id=request_id, secret=secret, expires_in=ttl)


def qr_png(request_id: str, secret: str) -> bytes:
    """The mini-program code of a pending sign-in, for the browser holding its secret."""
    if not REQUEST_ID.match(request_id) or not secret:
        raise _not_found()
    client: Any = redis_store.client
    browser, nonce_hash, state, exp = client.hmget(
        _request_key(request_id), ["browser", "nonce", "state", "exp"])
    if browser is None or not hmac.compare_digest(browser.decode(), _digest(secret)):
        raise _not_found()
    if state not in (b"pending", b"scanned") or float(exp) <= time.time():
        raise _expired()
    nonce = _nonce(request_id, secret)
    if not hmac.compare_digest(nonce_hash.decode(), _digest(nonce)):
        raise _not_found()  # the app's key changed since the request was made
    env = str(current_app.config["PC_LOGIN_ENV_VERSION"])
    try:
        return wechat.get_wxa_code(scene=nonce, page=PAGE, width=QR_WIDTH, env_version=env,
                                   check_path=env == "release")
    except (WeChatError, WeChatUnavailable) as exc:
        logger.warning("pc login code unavailable id=%s error=%s", request_id,
                       type(exc).__name__)
        raise ApiError(503, "WECHAT_UNAVAILABLE", "二维码暂时无法生成，请稍后点击刷新",
                       headers={"Retry-After": "10"}) from exc


def _request_of(scene: str) -> tuple[str, str]:
    """(request id, nonce hash) of a scanned scene; 404 for one never issued or long gone."""
    if not SCENE.match(scene):
        raise _not_found()
    nonce_hash = _digest(scene)
    client: Any = redis_store.client
    request_id = client.get(_nonce_key(nonce_hash))
    if request_id is None:
        raise _not_found()
    return request_id.decode(), nonce_hash


def _refuse(outcome: str) -> None:
    """Raise the error of a scan or decision the request's state does not allow."""
    if outcome == "missing":
        raise _not_found()
    if outcome == "expired":
        raise _expired()
    if outcome == "taken":
        raise ApiError(409, "PC_LOGIN_TAKEN", "该二维码已被其他微信账号扫描，请在电脑上刷新二维码")
    if outcome == "not_scanned":
        raise ApiError(409, "PC_LOGIN_NOT_SCANNED", "请先扫描电脑上的二维码")
    raise ApiError(409, "PC_LOGIN_USED", "该二维码已使用，请在电脑上刷新二维码后重新扫码")


def scan(user: User, scene: str) -> PcDetails:
    """The phone scanned the code: the sign-in is now this parent's; where it comes from."""
    request_id, nonce_hash = _request_of(scene)
    now = time.time()
    outcome, *fields = _run("scan", _SCAN, _request_key(request_id), nonce_hash, user.id, now)
    if outcome not in ("scanned", "rescanned"):
        _refuse(outcome)
    created, exp, browser, system, address = fields
    if outcome == "scanned":
        _audit("pc_login.scanned", request_id, user)
        logger.info("pc login scanned id=%s user_id=%s", request_id, user.id)
    requested = dt.datetime.fromtimestamp(float(created), dt.UTC).replace(microsecond=0)
    return PcDetails(requested_at=requested,
                     browser=browser, os=system, address=address,
                     expires_in=_left(exp, now))


def decide(user: User, scene: str, confirm: bool) -> str:
    """The parent who scanned confirms (the PC may collect the session) or refuses."""
    request_id, nonce_hash = _request_of(scene)
    decision = "confirmed" if confirm else "refused"
    outcome = _run("decide", _DECIDE, _request_key(request_id), nonce_hash, user.id,
                   time.time(), decision)
    if outcome != decision:
        _refuse(outcome)
    _audit(f"pc_login.{decision}", request_id, user)
    logger.info("pc login %s id=%s user_id=%s", decision, request_id, user.id)
    return decision


def poll(request_id: str, secret: str) -> Polled:
    """The sign-in's state for the browser holding its secret (404 for any other); a
    confirmation is collected once and becomes the parent's web session."""
    if not REQUEST_ID.match(request_id) or not secret:
        raise _not_found()
    now = time.time()
    state, *rest = _run("poll", _POLL, _request_key(request_id), _digest(secret), now,
                        COLLECT_GRACE_SECONDS)
    if state == "missing":
        raise _not_found()
    if state != "collected":
        waiting = state in ("pending", "scanned")
        return Polled(state=state, expires_in=_left(rest[0], now) if waiting else 0)
    user = db.session.get(User, int(rest[1]))
    if user is None:
        raise _not_found()
    token = start_parent_web_session(user)
    _audit("pc_login.signed_in", request_id, user)
    logger.info("pc login signed in id=%s user_id=%s", request_id, user.id)
    return Polled(state="confirmed", expires_in=0, web_token=token)
