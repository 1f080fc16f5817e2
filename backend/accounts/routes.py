"""Accounts API: WeChat, staff and PC login, logout, the caller, staff accounts."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, g, jsonify, request

from backend.accounts import pc_login, services, web
from backend.accounts.schemas import (
    LoginOut,
    MeOut,
    PasswordResetIn,
    PasswordResetOut,
    PcLoginDecisionIn,
    PcLoginDecisionOut,
    PcLoginIn,
    PcLoginOut,
    PcLoginScanIn,
    PcLoginScanOut,
    PcLoginStateOut,
    StaffAccountIn,
    StaffAccountList,
    StaffAccountOut,
    StaffAccountPatch,
    StaffAccountQuery,
    StaffLoginIn,
    WeChatLoginIn,
)
from backend.accounts.serializers import me_out, staff_account_out, user_out
from backend.core.api import api
from backend.core.auth import current_user, require_login, require_roles
from backend.core.ratelimit import address_key, limiter
from backend.core.timeutil import local_iso
from backend.identity import kept_phone
from backend.identity import services as identity_services
from backend.identity.services import guardian_of

bp = Blueprint("accounts", __name__, url_prefix="/api/v1")


@bp.post("/auth/wechat-login")
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"], key_func=address_key)
@api(body=WeChatLoginIn, response=LoginOut, errors=(401, 403, 429, 503))
def wechat_login(body: WeChatLoginIn) -> LoginOut:
    """Log a parent in with the code from wx.login()."""
    result = services.login_with_wechat(body.code)
    return LoginOut(token=result.token, expires_in=result.expires_in, user=user_out(result.user))


@bp.post("/auth/staff-login")
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"], key_func=address_key)
@api(body=StaffLoginIn, response=LoginOut, errors=(401, 403, 429))
def staff_login(body: StaffLoginIn) -> Response:
    """Log school staff or a bureau administrator in with username and password; with
    `web_session` the answer also sets the console's session cookie (HttpOnly, SameSite=Lax)."""
    result = services.login_staff(body.username, body.password, request.remote_addr,
                                  web_session=body.web_session)
    out = LoginOut(token=result.token, expires_in=result.expires_in, user=user_out(result.user))
    return web.login_response(out.model_dump(mode="json"), result.web_token)


@bp.post("/auth/logout")
@require_login
@api(status=204)
def logout() -> Response:
    """Revoke the caller's token (or web session, whose cookie is then cleared) at once."""
    services.logout(current_user(), g.current_session)
    response = Response(status=204)
    if g.current_session.web:
        web.clear_session_cookie(response, web.kind_of(g.current_session.role))
    return response


@bp.post("/auth/pc-login")
@limiter.limit(lambda: current_app.config["PC_LOGIN_LIMIT_PER_ADDRESS"], key_func=address_key)
@api(body=PcLoginIn, response=PcLoginOut, status=201, errors=(429,))
def start_pc_login(body: PcLoginIn) -> Response:
    """Start signing in on this PC by scanning a mini-program code; the sign-in is bound to
    this browser by an HttpOnly, SameSite=Strict cookie (docs/PC_LOGIN.md)."""
    started = pc_login.start(request.headers.get("User-Agent", ""), request.remote_addr)
    out = PcLoginOut(id=started.id, expires_in=started.expires_in,
                     qr_url=f"{pc_login.URL_PREFIX}{started.id}/qr.png")
    response = jsonify(out.model_dump(mode="json"))
    response.status_code = 201
    pc_login.set_binding_cookie(response, started)
    return response


@bp.get("/auth/pc-login/<login_id>/qr.png")
@limiter.limit(lambda: current_app.config["PC_LOGIN_LIMIT_PER_ADDRESS"], key_func=address_key)
@api(produces="image/png", errors=(404, 410, 429, 503))
def pc_login_qr(login_id: str) -> Response:
    """The sign-in's mini-program code (PNG), for the browser that started it only."""
    png = pc_login.qr_png(login_id, pc_login.binding_secret())
    return Response(png, mimetype="image/png", headers={"Cache-Control": "no-store"})


@bp.get("/auth/pc-login/<login_id>")
@api(response=PcLoginStateOut, errors=(404,))
def pc_login_state(login_id: str) -> Response:
    """The sign-in's state, for the browser that started it (any other: 404); `confirmed`
    is answered once and sets the parent's web session cookie."""
    polled = pc_login.poll(login_id, pc_login.binding_secret())
    out = PcLoginStateOut(state=polled.state, expires_in=polled.expires_in)  # type: ignore[arg-type]
    response = jsonify(out.model_dump(mode="json"))
    response.headers["Cache-Control"] = "no-store"
    if polled.web_token:
        pc_login.clear_binding_cookie(response, login_id)
        web.start_browser_session(response, polled.web_token, web.PARENT)
    return response


@bp.post("/auth/pc-login/scan")
@require_roles("parent", web=False)
@api(body=PcLoginScanIn, response=PcLoginScanOut, errors=(404, 409, 410))
def scan_pc_login(body: PcLoginScanIn) -> PcLoginScanOut:
    """The phone scanned a PC's code: the sign-in is now this parent's; answers where the PC
    is (time, browser, address prefix) for the parent to check. Bearer token only."""
    user = current_user()
    details = pc_login.scan(user, body.scene)
    return PcLoginScanOut(requested_at=local_iso(details.requested_at) or "",
                          browser=details.browser, os=details.os, address=details.address,
                          expires_in=details.expires_in,
                          identity_bound=guardian_of(user) is not None)


@bp.post("/auth/pc-login/confirm")
@require_roles("parent", web=False)
@api(body=PcLoginDecisionIn, response=PcLoginDecisionOut, errors=(404, 409, 410, 503))
def decide_pc_login(body: PcLoginDecisionIn) -> PcLoginDecisionOut:
    """The parent who scanned confirms (the PC is signed in to this account) or refuses.
    A `phone_code` sent with a confirmation (an account without a binding) is exchanged
    first and the phone kept for 30 minutes for the binding on the PC (docs/PC.md)."""
    user = current_user()
    confirm = body.decision == "confirm"
    phone = identity_services.keep_phone_for_pc(user, body.phone_code) if confirm else None
    state = pc_login.decide(user, body.scene, confirm)
    if phone is not None:
        kept_phone.keep(user.id, phone)
    return PcLoginDecisionOut(state=state)  # type: ignore[arg-type]


@bp.get("/me")
@require_login
@api(response=MeOut)
def me() -> MeOut:
    """The caller, with masked identity and children."""
    return me_out(current_user())


@bp.get("/admin/staff-accounts")
@require_roles("bureau_admin")
@api(query=StaffAccountQuery, response=StaffAccountList, errors=(404,))
def list_staff_accounts(query: StaffAccountQuery) -> StaffAccountList:
    """Staff accounts of the admin's authority, filtered by role, school, status or text."""
    filters = services.StaffFilters(role=query.role, school_code=query.school,
                                    active=query.active, text=query.q)
    users, total = services.list_staff_accounts(current_user(), filters, query.page,
                                                query.page_size)
    return StaffAccountList(items=[staff_account_out(u) for u in users], total=total,
                            page=query.page, page_size=query.page_size)


@bp.post("/admin/staff-accounts")
@require_roles("bureau_admin")
@api(body=StaffAccountIn, response=StaffAccountOut, status=201, errors=(404, 409))
def create_staff_account(body: StaffAccountIn) -> StaffAccountOut:
    """Create a staff account in the admin's own authority (audited)."""
    admin = current_user()
    user = services.create_staff_account(
        username=body.username, password=body.password, role=body.role,
        authority_code=admin.authority.code, school_code=body.school_code,
        display_name=body.display_name, actor=admin,
    )
    return staff_account_out(user)


@bp.patch("/admin/staff-accounts/<int:user_id>")
@require_roles("bureau_admin")
@api(body=StaffAccountPatch, response=StaffAccountOut, errors=(404, 409))
def update_staff_account(user_id: int, body: StaffAccountPatch) -> StaffAccountOut:
    """Change an account's name, role, school or status; disabling signs it out at once."""
    user = services.update_staff_account(current_user(), user_id,
                                         body.model_dump(exclude_unset=True))
    return staff_account_out(user)


@bp.post("/admin/staff-accounts/<int:user_id>/reset-password")
@require_roles("bureau_admin")
@api(body=PasswordResetIn, response=PasswordResetOut, errors=(404, 409))
def reset_staff_password(user_id: int, body: PasswordResetIn) -> PasswordResetOut:
    """Set a new password (generated when none is given, shown in this answer only) and sign
    the account out everywhere."""
    user, password = services.reset_staff_password(current_user(), user_id, body.password)
    generated = body.password is None
    return PasswordResetOut(account=staff_account_out(user), generated=generated,
                            password=password if generated else None)
