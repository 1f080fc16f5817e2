"""The PC entry page (the plan's 电脑端): `GET /` and the browser side of the poster links.

Plain server-rendered HTML with its own CSS and a small script (no CDN): policy
announcements, the timeline, schools and zones, live counts (the script reads
`/api/v1/stats/public`), and the county QR code that opens the mini-program. The poster
links `/mp/...` open the same information in a browser. `/pc/login` signs a parent in by
scanning a mini-program code with WeChat (docs/PC_LOGIN.md); `/pc/` is where they land.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from backend.accounts.web import user_for_cookie
from backend.admission import lists as admission_lists
from backend.announcements import services as announcements
from backend.authorities.models import EducationAuthority
from backend.authorities.services import resolve_authority
from backend.core.errors import ApiError
from backend.onsite import services as onsite
from backend.portal import links, posters, qr, services
from backend.schools import services as schools

bp = Blueprint("portal", __name__, template_folder="templates", static_folder="static",
               static_url_path="/portal/static")

# Public, identical for everyone: browsers and proxies may keep the QR images a while.
QR_CACHE = "public, max-age=3600"
PARENT_ROLES = ("parent",)
PC_PAGES = ("portal.pc_login", "portal.pc_home", "portal.pc_identity", "portal.pc_children",
            "portal.pc_register", "portal.pc_registrations", "portal.pc_registration",
            "portal.pc_onsite", "portal.pc_ticket_qr", "portal.pc_complaints")
# The PC sign-in pages: our own files only, never framed (a framed sign-in page could be
# dressed up as something else), never cached (the signed-in page carries the CSRF token).
PC_PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@bp.after_request
def _pc_page_headers(response: Response) -> Response:
    if request.endpoint in PC_PAGES:
        response.headers["Cache-Control"] = "no-store"
        response.headers["Content-Security-Policy"] = PC_PAGE_POLICY
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
    return response


def _authority() -> tuple[EducationAuthority, str | None] | None:
    """The authority of `?authority=` (None when unknown) and the parameter to keep in links."""
    code = request.args.get("authority") or None
    try:
        authority = resolve_authority(code)
    except ApiError:
        return None
    default = resolve_authority(None)
    return authority, (None if default.id == authority.id else authority.code)


def _not_found(message: str) -> tuple[str, int]:
    return render_template("portal/not_found.html", message=message,
                           platform_name="义务教育入学服务平台"), 404


@bp.get("/")
def index() -> str | tuple[str, int]:
    """The public entry page for parents at a PC."""
    found = _authority()
    if found is None:
        return _not_found("没有找到该教育主管部门的入学服务平台。")
    authority, param = found
    view = services.portal_view(authority, param)
    return render_template("portal/index.html", view=view, platform_name=view.platform_name,
                           county_link=links.county_link(param))


@bp.get("/portal/qr/county.png")
def county_qr() -> Response:
    """The county QR code (ordinary link to the mini-program, `?authority=` for another)."""
    found = _authority()
    param = found[1] if found else None
    image = qr.link_qr(links.county_link(param), box_size=8)
    return Response(qr.png_bytes(image), mimetype="image/png", headers={"Cache-Control": QR_CACHE})


@bp.get("/portal/qr/s/<code>.png")
def school_qr(code: str) -> Response | tuple[str, int]:
    """A school's QR code: the link its poster carries."""
    if not links.CODE_PATTERN.match(code):
        return _not_found("没有找到这所学校。")
    image = qr.link_qr(links.school_link(code), box_size=8)
    return Response(qr.png_bytes(image), mimetype="image/png", headers={"Cache-Control": QR_CACHE})


@bp.get("/mp/")
def miniprogram_home() -> BaseResponse:
    """The county poster's link opened in a browser: the entry page."""
    return redirect(url_for("portal.index"))


@bp.get("/mp/a/<code>")
def miniprogram_authority(code: str) -> BaseResponse:
    """Another county's poster link opened in a browser."""
    return redirect(url_for("portal.index", authority=code))


@bp.get("/mp/s/<code>")
def miniprogram_school(code: str) -> str | tuple[str, int]:
    """A school poster's link opened in a browser: the school's page with its QR code."""
    try:
        school = schools.get_school(code)
    except ApiError:
        return _not_found("没有找到这所学校。二维码可能已过期，或者不是本平台的学校二维码。")
    authority = school.authority
    season = posters.season_of(authority)
    plans = schools.seat_plans(season.id, [school.id]) if season else {}
    plan = plans.get(school.id)
    view = services.school_view(school, plan.classes if plan else None,
                                plan.class_size if plan else None)
    return render_template(
        "portal/school.html", school=school, view=view, authority=authority,
        platform_name=posters.platform_name(authority), scan_line=posters.scan_line(authority),
        window=posters.window_line(season, authority.timezone),
        materials=school.required_materials or {}, link=links.school_link(school.code))


@bp.get("/portal/announcements/<int:announcement_id>")
def announcement(announcement_id: int) -> str | tuple[str, int]:
    """One published announcement as a page."""
    try:
        item = announcements.public_announcement(announcement_id)
    except ApiError:
        return _not_found("该公告不存在或已撤回。")
    authority = item.authority
    return render_template("portal/announcement.html", item=item, authority=authority,
                           platform_name=posters.platform_name(authority),
                           category=services.CATEGORY_NAMES.get(item.category.value, "其他"),
                           published=services.local_date(item.publish_at, authority.timezone))


@bp.get("/portal/admitted/<code>")
def admitted_list(code: str) -> str | tuple[str, int]:
    """A school's published admitted list (masked) and the yes/no look-up for a family."""
    season_id = request.args.get("season_id", type=int)
    if not links.CODE_PATTERN.match(code) or not season_id or season_id < 1:
        return _not_found("没有找到该校的录取名单。")
    try:
        data = admission_lists.public_list(season_id, code)
    except ApiError:
        return _not_found("该校录取名单尚未公布，请以教育局公告为准。")
    school, season = data["school"], data["season"]
    authority = school.authority
    return render_template(
        "portal/admitted.html", school=school, season=season, items=data["items"],
        authority=authority, platform_name=posters.platform_name(authority),
        published=services.local_date(data["published_at"], authority.timezone),
        source_names=admission_lists.SOURCE_NAMES)


def _pc_context() -> dict[str, object]:
    found = _authority()
    config = current_app.config
    return {"platform_name": posters.platform_name(found[0]) if found
            else "义务教育入学服务平台",
            "ttl_minutes": max(int(config["PC_LOGIN_TTL_SECONDS"]) // 60, 1),
            "idle_minutes": max(int(config["PARENT_WEB_IDLE_SECONDS"]) // 60, 1)}


@bp.get("/pc/login")
def pc_login() -> str | BaseResponse:
    """电脑端登录: a mini-program code to scan with WeChat, its countdown and its state."""
    user, _info = user_for_cookie(PARENT_ROLES, csrf=False)
    if user is not None:
        return redirect(url_for("portal.pc_home"))
    return render_template("portal/pc_login.html", **_pc_context())


def _pc_page(template: str) -> str | BaseResponse:
    # A page of the signed-in parent, with the session's CSRF token; else the sign-in.
    user, info = user_for_cookie(PARENT_ROLES, csrf=False)
    if user is None or info is None:
        return redirect(url_for("portal.pc_login"))
    return render_template(template, csrf_token=info.csrf, **_pc_context())


@bp.get("/pc/")
def pc_home() -> str | BaseResponse:
    """Where a parent signed in on the PC lands: who they are, the steps, and 退出登录."""
    return _pc_page("portal/pc_home.html")


@bp.get("/pc/identity")
def pc_identity() -> str | BaseResponse:
    """实名登记 on the PC, with the phone authorised when the sign-in was confirmed."""
    return _pc_page("portal/pc_identity.html")


@bp.get("/pc/children")
def pc_children() -> str | BaseResponse:
    """我的孩子 on the PC: the list and 添加孩子 with the guardian's consent."""
    return _pc_page("portal/pc_children.html")


@bp.get("/pc/register")
def pc_register() -> str | BaseResponse:
    """提交报名 on the PC: child, school, basis, documents, the must-read notice, the ticket."""
    return _pc_page("portal/pc_register.html")


@bp.get("/pc/registrations")
def pc_registrations() -> str | BaseResponse:
    """我的报名 on the PC: status, timeline and what a returned registration needs; printable."""
    return _pc_page("portal/pc_registrations.html")


@bp.get("/pc/registrations/<int:registration_id>")
def pc_registration(registration_id: int) -> str | BaseResponse:
    """One registration on the PC: the fix a school asked for, 撤回报名, and the results
    (lottery, the seat offer to confirm or decline, the class); printable."""
    return _pc_page("portal/pc_registration.html")


@bp.get("/pc/onsite")
def pc_onsite() -> str | BaseResponse:
    """现场确认 on the PC: the admitted child's slots, booking, and the printable entry ticket."""
    return _pc_page("portal/pc_onsite.html")


@bp.get("/pc/onsite/bookings/<int:booking_id>/qr.png")
def pc_ticket_qr(booking_id: int) -> Response | tuple[str, int]:
    """The entry ticket's QR image (the code staff scan) for the page to show and print."""
    user, _info = user_for_cookie(PARENT_ROLES, csrf=False)
    if user is None:
        return _not_found("请先登录。")
    try:
        # The API's own check: only the family's booking, only while the offer stands.
        _booking, _code, png = onsite.ticket(user, booking_id)
    except ApiError:
        return _not_found("没有找到该入场凭证。")
    return Response(png, mimetype="image/png")


@bp.get("/pc/complaints")
def pc_complaints() -> str | BaseResponse:
    """投诉与申诉 on the PC: the family's complaints, the bureau's answers, and a new one."""
    return _pc_page("portal/pc_complaints.html")
