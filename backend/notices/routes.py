"""Notices API: templates to subscribe to, subscription credits, the in-app inbox, and the
bureau's view of delivery per family."""

from __future__ import annotations

from flask import Blueprint

from backend.core.api import api
from backend.core.auth import current_user, require_roles
from backend.notices import services
from backend.notices.schemas import (
    NoticeList,
    NoticeOut,
    NoticeQuery,
    StaffNoticeList,
    StaffNoticeQuery,
    SubscriptionList,
    SubscriptionsIn,
    TemplateList,
)
from backend.notices.serializers import (
    credits_out,
    notice_out,
    staff_notice_out,
    templates_out,
)

bp = Blueprint("notices", __name__, url_prefix="/api/v1")


@bp.get("/notices/templates")
@api(response=TemplateList, tags=("notices",))
def list_templates() -> TemplateList:
    """The notice templates: their ids go to wx.requestSubscribeMessage (3 at most per call)."""
    return templates_out(list(services.current_templates().values()))


@bp.get("/me/subscriptions")
@require_roles("parent")
@api(response=SubscriptionList, tags=("notices",))
def get_subscriptions() -> SubscriptionList:
    """The caller's remaining one-time credits per template key."""
    return credits_out(services.list_credits(current_user().id))


@bp.post("/me/subscriptions")
@require_roles("parent")
@api(body=SubscriptionsIn, response=SubscriptionList, errors=(422,), tags=("notices",))
def record_subscriptions(body: SubscriptionsIn) -> SubscriptionList:
    """Record what wx.requestSubscribeMessage returned: one credit per "accept"."""
    results: dict[str, str] = {str(key): value for key, value in body.results.items()}
    return credits_out(services.record_subscriptions(current_user().id, results))


@bp.get("/me/notices")
@require_roles("parent")
@api(query=NoticeQuery, response=NoticeList, tags=("notices",))
def list_notices(query: NoticeQuery) -> NoticeList:
    """The caller's in-app inbox, newest first: every notice, delivered by WeChat or not."""
    notices, total, unread = services.list_notices(current_user().id, query.page,
                                                   query.page_size)
    zone = services.display_zone()
    return NoticeList(items=[notice_out(n, zone) for n in notices], total=total, unread=unread,
                      page=query.page, page_size=query.page_size)


@bp.post("/me/notices/<int:notice_id>/read")
@require_roles("parent")
@api(response=NoticeOut, errors=(404,), tags=("notices",))
def mark_notice_read(notice_id: int) -> NoticeOut:
    """Mark one of the caller's notices read."""
    notice = services.mark_read(current_user().id, notice_id)
    return notice_out(notice, services.display_zone())


@bp.get("/admin/notices")
@require_roles("bureau_admin")
@api(query=StaffNoticeQuery, response=StaffNoticeList, errors=(404,), tags=("notices",))
def list_staff_notices(query: StaffNoticeQuery) -> StaffNoticeList:
    """Notices to the families registered in the admin's county and how each was delivered
    (family masked), filtered by status, template, school, one family or date; with the count
    per status."""
    filters = services.DeliveryFilters(
        status=query.status, template=query.template, school_code=query.school,
        reference=query.q, date_from=query.date_from, date_to=query.date_to)
    rows, total, counts = services.staff_notices(current_user(), filters, query.page,
                                                 query.page_size)
    zone = services.display_zone()
    return StaffNoticeList(items=[staff_notice_out(n, g, zone) for n, g in rows], total=total,
                           page=query.page, page_size=query.page_size, counts=counts)
