"""Exports API: the staff registration list as an .xlsx file, streamed."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, request

from backend.core.api import api
from backend.core.auth import STAFF, current_user, require_roles
from backend.exports import services
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
    response = Response(export.chunks(), mimetype=services.CONTENT_TYPE,
                        direct_passthrough=True)
    response.headers["Content-Length"] = str(export.size)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{export.filename}"; '
        f"filename*=UTF-8''{quote(export.display_name)}")
    # Personal data: never kept by a browser or a shared proxy.
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.call_on_close(export.file.close)
    return response
