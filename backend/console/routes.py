"""The staff web console: server-rendered pages under /console that read and write through
the JSON API (same routes, schemas and services as every other client).

The pages here only render the frame (navigation by role, filter bars, the CSRF token);
the tables, drawers and charts are filled by `static/js/` from `/api/v1/...`, signed in
by the staff web session cookie (backend/accounts/web.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from backend.accounts import scope
from backend.accounts.models import Role, User
from backend.accounts.web import user_for_cookie
from backend.announcements import schemas as announcement_schemas
from backend.audit.schemas import ACTION_NAMES
from backend.complaints import schemas as complaint_schemas
from backend.console.nav import Page, page_by_endpoint, visible_sections
from backend.core.db import db
from backend.core.errors import ApiError
from backend.exports.services import RELATION_NAMES
from backend.identity.categories import CATEGORIES, PLACEMENT_WISHES
from backend.identity.documents import DOCUMENT_NAMES
from backend.notices import schemas as notice_schemas
from backend.notices.templates import TEMPLATE_KEYS
from backend.registrations.schemas import STATUS_NAMES
from backend.reviews import services as reviews
from backend.reviews.schemas import BASIS_NAMES
from backend.schools.models import Region, RegionLevel, School

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
               static_folder="static", static_url_path="/static")

# Pages are built from our own files only; ECharts and the document viewer set inline
# styles through the DOM, which 'unsafe-inline' for styles (not scripts) allows.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; frame-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


@bp.after_request
def _headers(response: Response) -> Response:
    if request.endpoint != "console.static":
        # Pages carry the CSRF token and scoped data: never cached, never framed.
        response.headers["Cache-Control"] = "no-store"
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _login_redirect() -> Any:
    target = request.full_path.rstrip("?") if request.query_string else request.path
    return redirect(url_for("console.login", next=target))


def page(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A console page for staff with one of `roles` (default: any staff role).

    No web session: to the login page. Signed in with another role: a 404 page (a school's
    staff do not learn which bureau pages exist).
    """
    allowed = roles or ("school_staff", "bureau_admin")

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user, info = user_for_cookie(csrf=False)
            if user is None or info is None:
                return _login_redirect()
            g.current_user, g.current_session = user, info
            if user.role.value not in allowed:
                return not_found_page(user)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def render(template: str, **context: Any) -> str:
    """Render a page inside the frame: navigation, user, CSRF token, catalogue options."""
    user: User = g.current_user
    current: Page | None = page_by_endpoint(request.endpoint or "")
    return render_template(
        template, user=user, csrf_token=g.current_session.csrf,
        sections=visible_sections(user.role.value), current=current,
        is_bureau=user.role is Role.BUREAU_ADMIN, school=user.school,
        **context,
    )


def not_found_page(user: User) -> tuple[str, int]:
    """The console's 404: the same for a missing object and one outside the caller's scope."""
    g.current_user = user
    return render("console/not_found.html"), 404


def _options() -> dict[str, Any]:
    """What the filter bars offer: statuses, bases, categories, and the caller's schools and
    towns (school staff: their own school only)."""
    user: User = g.current_user
    schools = list(db.session.scalars(
        select(School).where(scope.covers_school(user, School.id)).order_by(School.code)))
    towns = list(db.session.scalars(
        select(Region).where(scope.covers_authority(user, Region.authority_id),
                             Region.level == RegionLevel.TOWN).order_by(Region.code)))
    return {
        "statuses": STATUS_NAMES, "bases": BASIS_NAMES,
        "categories": {key: label for key, (label, _kinds) in CATEGORIES.items()},
        "schools": schools, "towns": towns,
        "school_pairs": [[s.code, s.name] for s in schools],
    }


def _safe_next(value: str | None) -> str:
    # Only a path inside the console: never an absolute or protocol-relative address.
    if value and value.startswith("/console") and not urlsplit(value).netloc \
            and "\\" not in value:
        return value
    return url_for("console.overview")


@bp.get("/login")
def login() -> Any:
    """The sign-in page (the form posts to POST /api/v1/auth/staff-login)."""
    user, _info = user_for_cookie(csrf=False)
    target = _safe_next(request.args.get("next"))
    if user is not None:
        return redirect(target)
    return render_template("console/login.html", next_url=target)


@bp.get("/")
@page()
def overview() -> str:
    """总览: live counts against the plan, charts by day/hour, basis and category."""
    # The overview polls the counts this often; the snapshot behind them refreshes every ~5 s.
    refresh = int(current_app.config["CONSOLE_REFRESH_SECONDS"])
    return render("console/overview.html", refresh_seconds=max(refresh, 1))


@bp.get("/reviews")
@page()
def reviews_queue() -> str:
    """报名审核: the review queue with filters, the detail drawer and decisions."""
    return render("console/reviews.html", open_id=None, **_options())


@bp.get("/reviews/<int:registration_id>")
@page()
def review_detail(registration_id: int) -> Any:
    """One registration opened in the queue; out of scope is the same 404 as missing."""
    try:
        reviews.staff_registration(g.current_user, registration_id)
    except ApiError as exc:
        if exc.status == 404:
            return not_found_page(g.current_user)
        raise
    return render("console/reviews.html", open_id=registration_id, **_options())


@bp.get("/proxy")
@page()
def proxy() -> str:
    """代报名: a family without a smartphone registered at the counter, the claim slip, and
    the list of what the school entered (claimed or not)."""
    return render("console/proxy.html", document_types=DOCUMENT_NAMES,
                  relations=RELATION_NAMES, placement_wishes=PLACEMENT_WISHES, **_options())


@bp.get("/exports")
@page()
def exports() -> str:
    """数据导出: the registrations list as xlsx, masked (full for the bureau)."""
    return render("console/exports.html", **_options())


@bp.get("/announcements")
@page()
def announcements() -> str:
    """公告管理: drafts, publication with the content-security result, withdrawal."""
    return render("console/announcements.html",
                  announcement_categories=announcement_schemas.CATEGORY_NAMES,
                  announcement_statuses=announcement_schemas.STATUS_NAMES, **_options())


@bp.get("/complaints")
@page()
def complaints() -> str:
    """投诉举报: the bureau's inbox (assign, answer, close) or a school's assigned cases."""
    return render("console/complaints.html", complaint_types=complaint_schemas.TYPE_NAMES,
                  complaint_statuses=complaint_schemas.STATUS_NAMES, **_options())


@bp.get("/admission/seat-plans")
@page("bureau_admin")
def seat_plans() -> str:
    """招生计划: classes × class size and priority tiers per school, for a chosen season."""
    return render("console/admission/seat_plans.html", **_options())


@bp.get("/admission/lotteries")
@page("bureau_admin")
def lotteries() -> str:
    """随机派位: per school, the guided steps freeze → public value → draw → result → public."""
    return render("console/admission/lotteries.html", **_options())


@bp.get("/admission/offers")
@page("bureau_admin")
def offers() -> str:
    """录取与候补: offers with deadlines, the waitlist, and placement (统筹) with a reason."""
    return render("console/admission/offers.html", **_options())


@bp.get("/admission/admitted-lists")
@page("bureau_admin")
def admitted_lists() -> str:
    """名单公布与学籍: publish each school's admitted list; the student-registry export."""
    return render("console/admission/admitted_lists.html", **_options())


@bp.get("/admission/onsite")
@page()
def onsite() -> str:
    """现场报到: time slots and check-in by scanner or typed code."""
    return render("console/admission/onsite.html", **_options())


@bp.get("/admission/classes")
@page()
def classes() -> str:
    """均衡分班: class assignments and their evidence."""
    return render("console/admission/classes.html", **_options())


@bp.get("/settings/season")
@page("bureau_admin")
def season() -> str:
    """招生日程: the seasons; create from the previous one, edit, timeline, publish, archive."""
    return render("console/settings/season.html")


@bp.get("/settings/imports")
@page("bureau_admin")
def imports() -> str:
    """学校与片区导入: schools, zones and regions with a dry run first."""
    return render("console/settings/imports.html")


@bp.get("/settings/accounts")
@page("bureau_admin")
def accounts() -> str:
    """账号管理: staff accounts of the county (filter, edit, disable, reset a password)."""
    return render("console/settings/accounts.html", **_options())


@bp.get("/settings/audit")
@page("bureau_admin")
def audit() -> str:
    """操作日志: who did what, when, about which object or child."""
    return render("console/settings/audit.html", actions=ACTION_NAMES)


@bp.get("/ops/disputes")
@page("bureau_admin")
def disputes() -> str:
    """绑定争议: ID numbers bound to another WeChat account; transfer or reject."""
    return render("console/settings/disputes.html")


@bp.get("/ops/dead-letters")
@page("bureau_admin")
def dead_letters() -> str:
    """失败任务: queue messages that kept failing, why, and replaying them."""
    return render("console/settings/dead_letters.html")


@bp.get("/ops/notices")
@page("bureau_admin")
def notices() -> str:
    """通知送达: how each notice to a family was delivered."""
    return render("console/settings/notices.html", notice_statuses=notice_schemas.STATUS_NAMES,
                  notice_templates={key: title for key, (title, _lines)
                                    in TEMPLATE_KEYS.items()}, **_options())
