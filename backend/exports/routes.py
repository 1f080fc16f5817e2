"""Exports API: the staff registration list as an .xlsx file, streamed."""

from __future__ import annotations

from flask import Blueprint, Response, request

from backend.core.api import api
from backend.core.auth import STAFF, current_user, require_roles
from backend.exports import services
from backend.exports.responses import download_response
from backend.exports.schemas import ExportQuery
from backend.reviews.services import Filters

bp = Blueprint("exports", __name__, url_prefix="/api/v1")


@bp.get("/staff/registrations/export.xlsx")
@require_roles(*STAFF)
@api(query=ExportQuery, errors=(403, 404), tags=("exports",), produces=services.CONTENT_TYPE)
def export_registrations(query: ExportQuery) -> Response:
    """The list's registrations as .xlsx: masked; `full=1` (bureau only) in full, audited."""
    export = services.export_registrations(current_user(), Filters.of(query.model_dump()),
                                           full=query.full,
                                           client_address=request.remote_addr)
    return download_response(export)
