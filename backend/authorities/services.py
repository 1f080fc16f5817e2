"""Finding the education authority a public request is about."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from backend.authorities.models import EducationAuthority
from backend.core.db import db
from backend.core.errors import ApiError


def resolve_authority(code: str | None) -> EducationAuthority:
    """The authority named by `?authority=`, else the deployment's default one."""
    code = code or current_app.config.get("DEFAULT_AUTHORITY") or None
    if code:
        authority = db.session.scalar(
            select(EducationAuthority).where(EducationAuthority.code == code)
        )
    else:
        # One-authority deployments need no configuration: the first one is the default.
        authority = db.session.scalar(select(EducationAuthority).order_by(EducationAuthority.id))
    if authority is None:
        raise ApiError(404, "AUTHORITY_NOT_FOUND", "未找到该教育主管部门")
    return authority
