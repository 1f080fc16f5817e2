"""Turning entries, slips and staff-entered registrations into response models (masked)."""

from __future__ import annotations

from typing import Any

from backend.core import pii
from backend.core.db import utcnow
from backend.core.timeutil import local_iso
from backend.proxy.schemas import (
    ClaimedRegistration,
    ClaimOut,
    ProxyEntryOut,
    ProxyRegistrationSummary,
    SchoolRef,
    SlipOut,
)
from backend.proxy.services import Claimed, Entry, Slip, claim_codes_of, users_by_id
from backend.registrations import services as registrations
from backend.registrations.models import Registration
from backend.registrations.schemas import STATUS_NAMES

ROLE_NAMES = {"school_staff": "学校", "bureau_admin": "教育局"}


def slip_out(slip: Slip) -> SlipOut:
    """The printed slip."""
    return SlipOut(school=SchoolRef(code=slip.school.code, name=slip.school.name),
                   child_name=slip.child_name, guardian_name=slip.guardian_name,
                   claim_code=slip.code,
                   claim_code_expires_at=local_iso(slip.expires_at) or "")


def entry_out(entry: Entry) -> ProxyEntryOut:
    """The ticket as the intake answered it (known once queued) and the slip."""
    receipt = entry.receipt
    if receipt is None:  # answered only after the commit queued it
        raise RuntimeError("the entry's submission was not queued")
    ticket: dict[str, Any] = {"ticket": receipt.ticket, "state": receipt.state,
                              "position": receipt.position}
    if receipt.state != "queued":  # a retry of an entry the worker has already handled
        ticket = registrations.ticket_status(entry.family_user_id, receipt.ticket)
    return ProxyEntryOut(**ticket, slip=slip_out(entry.slip))


def summaries_out(rows: list[Registration]) -> list[ProxyRegistrationSummary]:
    """A page of staff-entered registrations, with claimed state and the code's expiry."""
    users = users_by_id({r.submitted_by_user_id for r in rows}
                        | {r.entered_by_user_id for r in rows if r.entered_by_user_id})
    codes = claim_codes_of({r.submitted_by_user_id for r in rows})
    now = utcnow()
    items = []
    for r in rows:
        family = users.get(r.submitted_by_user_id)
        claimed = family is None or not (family.is_staff_created and family.is_active)
        code = None if claimed else codes.get(r.submitted_by_user_id)
        staff = users.get(r.entered_by_user_id or 0)
        items.append(ProxyRegistrationSummary(
            id=r.id, ticket=r.ticket, status=r.status.value,
            status_name=STATUS_NAMES[r.status.value],
            school=SchoolRef(code=r.school.code, name=r.school.name),
            child_name=pii.mask_name(r.child.name),
            guardian_name=pii.mask_name(r.child.guardian.name),
            entered_at=local_iso(r.created_at) or "",
            entered_by_role=ROLE_NAMES.get(staff.role.value, "") if staff else "",
            entered_by_name=(staff.display_name or staff.username) if staff else None,
            claimed=claimed,
            claim_code_expires_at=local_iso(code.expires_at) if code else None,
            claim_code_expired=bool(code and code.expires_at <= now)))
    return items


def claim_out(claimed: Claimed) -> ClaimOut:
    """What the family's account took over."""
    return ClaimOut(
        registrations=[ClaimedRegistration(
            id=r.id, school_name=r.school.name, child_name=r.child.name,
            status=r.status.value, status_name=STATUS_NAMES[r.status.value])
            for r in claimed.registrations],
        children=claimed.children,
        message=(f"认领成功：{claimed.children} 名儿童、{len(claimed.registrations)} 条报名"
                 "已转入您的账号"))
