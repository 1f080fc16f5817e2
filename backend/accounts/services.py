"""Login, sessions and staff accounts: service functions taking plain values."""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from backend.accounts import scope
from backend.accounts.models import Role, User
from backend.accounts.passwords import hash_password, needs_rehash, verify_password
from backend.audit.services import client_fingerprint, record_audit
from backend.authorities.models import EducationAuthority
from backend.core.db import after_commit, db, utcnow
from backend.core.errors import ApiError
from backend.core.jobs import enqueue, enqueue_after_commit
from backend.core.redis import redis_store
from backend.core.sessions import (
    SessionInfo,
    new_token,
    resolve_session,
    revoke_all_sessions,
    revoke_session,
    store_session,
    store_web_session,
)
from backend.schools.models import School
from backend.wechat.client import WeChatError, WeChatUnavailable, wechat

logger = logging.getLogger(__name__)

# WeChat says the login code is unknown, expired or already used.
INVALID_CODE_ERRCODES = {40029, 40163}


@dataclass(frozen=True)
class LoginResult:
    """A signed-in user and their new token."""

    user: User
    token: str
    expires_in: int
    # Staff only: the web session for the console's cookie (see accounts/web.py).
    web_token: str | None = None


def _wechat_unavailable() -> ApiError:
    return ApiError(503, "WECHAT_UNAVAILABLE", "微信服务暂时不可用，请稍后重试",
                    headers={"Retry-After": "30"})


def login_with_wechat(code: str) -> LoginResult:
    """Exchange a wx.login code for our own session; creates the parent account on first login."""
    try:
        wx_session = wechat.code_to_session(code)
    except WeChatUnavailable as exc:
        raise _wechat_unavailable() from exc
    except WeChatError as exc:
        if exc.errcode in INVALID_CODE_ERRCODES:
            raise ApiError(
                401, "INVALID_LOGIN_CODE", "登录凭证无效或已过期，请重新进入小程序"
            ) from exc
        if exc.errcode == 45011:
            raise ApiError(429, "WECHAT_RATE_LIMITED", "登录太频繁，请一分钟后再试",
                           headers={"Retry-After": "60"}) from exc
        if exc.errcode == 40226:
            raise ApiError(403, "WECHAT_HIGH_RISK_USER",
                           "微信提示该账号存在风险，暂时无法登录，请联系学校办理") from exc
        logger.error("code2Session failed errcode=%s", exc.errcode)
        raise _wechat_unavailable() from exc

    user = _parent_for_openid(wx_session.openid)
    if user.role is not Role.PARENT or not user.is_active:
        raise ApiError(403, "ACCOUNT_DISABLED", "该账号已停用，请联系教育局")
    if wx_session.unionid:
        user.unionid = wx_session.unionid
    user.last_login_at = utcnow()
    db.session.flush()
    ttl = int(current_app.config["PARENT_SESSION_TTL_SECONDS"])
    token = _session_after_commit(user, ttl, wx_session.session_key)
    logger.info("parent signed in user_id=%s", user.id)
    return LoginResult(user=user, token=token, expires_in=ttl)


def _parent_for_openid(openid: str) -> User:
    user = db.session.scalar(select(User).where(User.openid == openid))
    if user is not None:
        return user
    try:
        # wx.login often runs twice at launch: two first logins may race to create the user.
        with db.session.begin_nested():
            user = User(role=Role.PARENT, openid=openid)
            db.session.add(user)
    except IntegrityError:
        user = db.session.scalar(select(User).where(User.openid == openid))
        if user is None:
            raise
    return user


def store_wechat_session_key(user_id: int, session_key: str, ttl_seconds: int) -> None:
    """Keep WeChat's session_key server-side only (needed to decrypt signed user data)."""
    redis_store.client.set(redis_store.key("wx-session-key", user_id), session_key,
                           ex=ttl_seconds)


def _session_after_commit(user: User, ttl: int, session_key: str | None = None) -> str:
    # The token only starts to work once the user row is committed, so a rolled-back
    # first login can never leave a token pointing at an id that is later reused.
    token = new_token()
    user_id, role = user.id, user.role.value

    def store() -> None:
        if session_key:
            store_wechat_session_key(user_id, session_key, ttl)
        store_session(token, user_id, role, ttl)

    after_commit(store, essential=True)
    return token


def _web_session_after_commit(user: User, max_seconds: int, idle_setting: str) -> str:
    # Like the bearer token: usable only once the login's transaction has committed.
    token, csrf = new_token(), new_token()
    user_id, role = user.id, user.role.value
    idle = int(current_app.config[idle_setting])
    after_commit(lambda: store_web_session(token, user_id, role, csrf, idle_seconds=idle,
                                           max_seconds=max_seconds), essential=True)
    return token


def start_parent_web_session(user: User) -> str:
    """A parent's PC session (cookie + CSRF token) once the request commits; its token."""
    if user.role is not Role.PARENT or not user.is_active:
        raise ApiError(403, "ACCOUNT_DISABLED", "该账号已停用，请联系教育局")
    user.last_login_at = utcnow()
    max_seconds = int(current_app.config["PARENT_WEB_MAX_SECONDS"])
    return _web_session_after_commit(user, max_seconds, "PARENT_WEB_IDLE_SECONDS")


def _attempt_keys(username: str, fingerprint: str | None) -> list[tuple[str, int]]:
    config = current_app.config
    keys = [(redis_store.key("login-attempts", "user", username.lower()),
             int(config["LOGIN_MAX_FAILURES"]))]
    if fingerprint:
        keys.append((redis_store.key("login-attempts", "client", fingerprint),
                     int(config["LOGIN_MAX_FAILURES_PER_CLIENT"])))
    return keys


def _reserve_attempt(keys: list[tuple[str, int]]) -> None:
    # Count the attempt before checking the password, atomically: parallel guesses each
    # take a slot, so no burst can slip past the limit while Argon2 runs.
    window = int(current_app.config["LOGIN_LOCKOUT_SECONDS"])
    with redis_store.client.pipeline() as pipe:
        for key, _limit in keys:
            pipe.set(key, 0, ex=window, nx=True)
            pipe.incr(key)
            pipe.ttl(key)
        results = pipe.execute()
    for n, (_key, limit) in enumerate(keys):
        attempts, ttl = int(results[n * 3 + 1]), int(results[n * 3 + 2])
        if attempts > limit:
            retry_after = max(ttl, 1)
            raise ApiError(429, "TOO_MANY_LOGIN_ATTEMPTS",
                           f"登录失败次数过多，请 {max(retry_after // 60, 1)} 分钟后再试",
                           headers={"Retry-After": str(retry_after)})


def _release_attempt(keys: list[tuple[str, int]]) -> None:
    # A successful login clears the user's failures and gives the client its slot back.
    with redis_store.client.pipeline() as pipe:
        pipe.delete(keys[0][0])
        for key, _limit in keys[1:]:
            pipe.decr(key)
        pipe.execute()


def login_staff(username: str, password: str, client_address: str | None, *,
                web_session: bool = False) -> LoginResult:
    """Password login for staff, locked for a while after repeated failures; with
    `web_session` also a session for the console's cookie."""
    username = username.strip()
    fingerprint = client_fingerprint(client_address)
    keys = _attempt_keys(username, fingerprint)
    _reserve_attempt(keys)
    user = db.session.scalar(
        select(User).where(User.username == username, User.role != Role.PARENT)
    )
    if not verify_password(user.password_hash if user else None, password) or user is None:
        # Queued at once: the request fails, so there is no commit to wait for.
        enqueue("audit.record", {
            "action": "staff.login_failed", "client_fingerprint": fingerprint,
            "actor_user_id": user.id if user else None,
            "actor_role": user.role.value if user else None,
        })
        raise ApiError(401, "INVALID_CREDENTIALS", "用户名或密码错误")
    if not user.is_active:
        raise ApiError(403, "ACCOUNT_DISABLED", "该账号已停用，请联系教育局")
    _release_attempt(keys)
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    ttl = int(current_app.config["STAFF_SESSION_TTL_SECONDS"])
    token = _session_after_commit(user, ttl)
    web_token = _web_session_after_commit(user, ttl, "STAFF_WEB_IDLE_SECONDS") \
        if web_session else None
    enqueue_after_commit("audit.record", {
        "action": "staff.login", "actor_user_id": user.id, "actor_role": user.role.value,
        "object_type": "user", "object_id": user.id, "client_fingerprint": fingerprint,
    })
    logger.info("staff signed in user_id=%s role=%s", user.id, user.role.value)
    return LoginResult(user=user, token=token, expires_in=ttl, web_token=web_token)


def user_for_token(token: str) -> tuple[User | None, SessionInfo | None]:
    """The active user a bearer token belongs to, or (None, None)."""
    info = resolve_session(token)
    # A web session is good for its cookie only (where the CSRF check applies).
    if info is None or info.web:
        return None, None
    return user_for_session(info)


def user_for_session(info: SessionInfo) -> tuple[User | None, SessionInfo | None]:
    """The active user of a resolved session, or (None, None)."""
    user = db.session.get(User, info.user_id)
    if user is None or not user.is_active or user.role.value != info.role:
        return None, None
    return user, info


def logout(user: User, info: SessionInfo) -> None:
    """Revoke the caller's token (or web session) at once."""
    revoke_session(info)
    if user.is_staff or info.web:
        enqueue_after_commit("audit.record", {
            "action": "staff.logout" if user.is_staff else "parent.web_logout",
            "actor_user_id": user.id, "actor_role": user.role.value,
            "object_type": "user", "object_id": user.id,
        })


_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")


def validate_password_strength(password: str) -> None:
    """Staff passwords: at least 10 characters, not only digits or only letters."""
    if len(password) < 10 or password.isdigit() or password.isalpha():
        raise ApiError(422, "WEAK_PASSWORD", "密码至少 10 位，且须同时包含字母和数字或符号")


def create_staff_account(
    *,
    username: str,
    password: str,
    role: str,
    authority_code: str,
    school_code: str | None = None,
    display_name: str | None = None,
    actor: User | None = None,
) -> User:
    """Create a school-staff or bureau-admin account inside one authority (audited when an
    admin creates it)."""
    if not _USERNAME.match(username):
        raise ApiError(
            422, "INVALID_USERNAME", "用户名只能包含字母、数字、下划线、点和横线，3-64 位"
        )
    validate_password_strength(password)
    staff_role = Role(role)
    if staff_role is Role.PARENT:
        raise ApiError(422, "INVALID_ROLE", "家长账号只能通过微信登录创建")
    authority = db.session.scalar(
        select(EducationAuthority).where(EducationAuthority.code == authority_code)
    )
    if authority is None:
        raise ApiError(404, "AUTHORITY_NOT_FOUND", "教育主管部门不存在")
    school = None
    if staff_role is Role.SCHOOL_STAFF:
        if not school_code:
            raise ApiError(422, "SCHOOL_REQUIRED", "学校账号必须指定学校")
        school = db.session.scalar(select(School).where(School.code == school_code))
        # A bureau may only create staff for its own schools.
        if school is None or school.authority_id != authority.id:
            raise ApiError(404, "SCHOOL_NOT_FOUND", "本辖区内没有该学校")
    elif school_code:
        raise ApiError(422, "SCHOOL_NOT_ALLOWED", "教育局账号不隶属于某所学校")
    taken = ApiError(409, "USERNAME_TAKEN", "该用户名已被使用")
    if db.session.scalar(select(User.id).where(User.username == username)):
        raise taken
    user = User(
        role=staff_role, username=username, password_hash=hash_password(password),
        display_name=display_name, authority_id=authority.id,
        school_id=school.id if school else None,
    )
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError as exc:  # created by someone else a moment ago
        raise taken from exc
    if actor is not None:
        _audit_account(actor, "account.create", user,
                       {"role": staff_role.value, "school_id": user.school_id})
    logger.info("staff account created user_id=%s role=%s", user.id, staff_role.value)
    return user


@dataclass(frozen=True)
class StaffFilters:
    """What the bureau's account list is filtered by (None: any)."""

    role: str | None = None
    school_code: str | None = None
    active: bool | None = None
    text: str | None = None


def list_staff_accounts(admin: User, filters: StaffFilters, page: int = 1,
                        page_size: int = 200) -> tuple[list[User], int]:
    """A page of the staff accounts of the admin's authority, by username, and the total."""
    stmt = select(User).where(scope.covers_authority(admin, User.authority_id),
                              User.role != Role.PARENT)
    if filters.role:
        stmt = stmt.where(User.role == Role(filters.role))
    if filters.school_code:
        stmt = stmt.where(User.school_id == scope.school(admin, code=filters.school_code).id)
    if filters.active is not None:
        stmt = stmt.where(User.is_active.is_(filters.active))
    if filters.text:
        pattern = "%" + filters.text.strip().replace("\\", "").replace("%", "").replace(
            "_", "\\_") + "%"
        stmt = stmt.where(or_(User.username.ilike(pattern, escape="\\"),
                              User.display_name.ilike(pattern, escape="\\")))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    users = db.session.scalars(stmt.order_by(User.username)
                               .offset((page - 1) * page_size).limit(page_size))
    return list(users), total


def staff_account(admin: User, user_id: int) -> User:
    """A staff account of the admin's authority (404 ACCOUNT_NOT_FOUND otherwise)."""
    user = db.session.scalar(select(User).where(
        User.id == user_id, User.role != Role.PARENT,
        scope.covers_authority(admin, User.authority_id)))
    if user is None:
        raise scope.not_found("ACCOUNT_NOT_FOUND", "未找到该账号")
    return user


def _audit_account(admin: User, action: str, user: User, details: dict[str, object]) -> None:
    # Ids, roles and flags only: never a name or a password.
    record_audit(db.session, action=action, actor_user_id=admin.id,
                 actor_role=admin.role.value, object_type="user", object_id=user.id,
                 details=details)


def _sign_out_after_commit(user_id: int) -> None:
    # Every bearer token and web session of the account ends once the change is committed.
    after_commit(lambda: revoke_all_sessions(user_id))


def update_staff_account(admin: User, user_id: int, changes: dict[str, object]) -> User:
    """Change an account's display name, role, school or status (audited). Disabling it, or
    changing its role or school, signs it out everywhere at once; an admin may neither
    disable nor demote themself."""
    account = staff_account(admin, user_id)
    role = Role(str(changes["role"])) if changes.get("role") else account.role
    active = bool(changes["is_active"]) if changes.get("is_active") is not None \
        else account.is_active
    if account.id == admin.id and not active:
        raise ApiError(409, "CANNOT_DISABLE_SELF", "不能停用自己的账号，请由其他管理员操作")
    if account.id == admin.id and role is not Role.BUREAU_ADMIN:
        raise ApiError(409, "CANNOT_DEMOTE_SELF",
                       "不能取消自己的教育局管理员权限，请由其他管理员操作")
    school_id = account.school_id
    if role is Role.SCHOOL_STAFF:
        code = changes.get("school_code")
        if code:
            school_id = scope.school(admin, code=str(code)).id
        elif school_id is None:
            raise ApiError(422, "SCHOOL_REQUIRED", "学校账号必须指定学校")
    else:
        if changes.get("school_code"):
            raise ApiError(422, "SCHOOL_NOT_ALLOWED", "教育局账号不隶属于某所学校")
        school_id = None
    changed = []
    if "display_name" in changes:
        name = changes["display_name"]
        name = str(name).strip() or None if name is not None else None
        if name != account.display_name:
            account.display_name = name
            changed.append("display_name")
    access_changed = (role is not account.role or school_id != account.school_id
                      or (account.is_active and not active))
    for field, old, new in (("role", account.role, role), ("school", account.school_id, school_id),
                            ("is_active", account.is_active, active)):
        if old != new:
            changed.append(field)
    account.role, account.school_id, account.is_active = role, school_id, active
    db.session.flush()
    if changed:
        _audit_account(admin, "account.update", account, {
            "changed": changed, "role": role.value, "school_id": school_id,
            "is_active": active})
    if access_changed:
        _sign_out_after_commit(account.id)
    logger.info("staff account updated user_id=%s by=%s changed=%s", account.id, admin.id,
                ",".join(changed) or "-")
    return account


# Generated passwords: no look-alike characters (0/O, 1/l/I), read out over the phone.
_GENERATED_LETTERS = "ABCDEFGHJKMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz"
_GENERATED_DIGITS = "23456789"


def generate_password() -> str:
    """A random password that passes validate_password_strength, e.g. "Kq7m-x3Pa-9bTe-w4Rz"."""
    alphabet = _GENERATED_LETTERS + _GENERATED_DIGITS
    while True:
        groups = ["".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4)]
        password = "-".join(groups)
        if any(c.isdigit() for c in password) and any(c.isalpha() for c in password):
            return password


def reset_staff_password(admin: User, user_id: int, password: str | None) -> tuple[User, str]:
    """Set a new password (the given one, or a generated one), sign the account out
    everywhere and clear its failed-login count; audited without the password. An admin's
    own password is reset by another admin."""
    user = staff_account(admin, user_id)
    if user.id == admin.id:
        raise ApiError(409, "CANNOT_RESET_SELF", "不能重置自己的密码，请由其他管理员操作")
    generated = password is None
    new_password = generate_password() if password is None else password
    validate_password_strength(new_password)
    user.password_hash = hash_password(new_password)
    db.session.flush()
    _audit_account(admin, "account.password_reset", user, {"generated": generated})
    _sign_out_after_commit(user.id)
    failures = redis_store.key("login-attempts", "user", (user.username or "").lower())
    after_commit(lambda: redis_store.client.delete(failures))
    logger.info("staff password reset user_id=%s by=%s generated=%s", user.id, admin.id,
                generated)
    return user, new_password


def create_family_account(created_by: User) -> User:
    """A parent account a school makes at the counter for a family without a smartphone
    (代报名): no openid, never signs in, until the family claims it from its own WeChat."""
    user = User(role=Role.PARENT, created_by_user_id=created_by.id)
    db.session.add(user)
    db.session.flush()
    logger.info("family account made at the counter user_id=%s by_user_id=%s",
                user.id, created_by.id)
    return user

