"""Data-check API: the consent text, the family's consent (queues the checks), the results."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from backend.core.api import api
from backend.core.auth import current_user, require_roles, web_session
from backend.verification import services
from backend.verification.consent import (
    DATA_CHECK_CONSENT_TEXT,
    DATA_CHECK_CONSENT_TITLE,
    DATA_CHECK_CONSENT_VERSION,
)
from backend.verification.models import DataCheckChannel
from backend.verification.schemas import DataCheckAskIn, DataCheckConsentTextOut, DataChecksOut
from backend.verification.serializers import family_view_out

bp = Blueprint("verification", __name__, url_prefix="/api/v1")
CONSENT_TEXT_CACHE = "public, max-age=300"


@bp.get("/privacy/data-check-consent-text")
@api(response=DataCheckConsentTextOut)
def get_data_check_consent_text() -> Response:
    """The separate consent to government data checks and its version (what
    POST /me/children/{child_id}/data-checks must name); public and cacheable."""
    body = DataCheckConsentTextOut(version=DATA_CHECK_CONSENT_VERSION,
                                   title=DATA_CHECK_CONSENT_TITLE, text=DATA_CHECK_CONSENT_TEXT)
    response = jsonify(body.model_dump(mode="json"))
    response.headers["Cache-Control"] = CONSENT_TEXT_CACHE
    return response


@bp.post("/me/children/<int:child_id>/data-checks")
@require_roles("parent")
@api(body=DataCheckAskIn, response=DataChecksOut, status=202, errors=(404, 409))
def ask_data_checks(child_id: int, body: DataCheckAskIn) -> DataChecksOut:
    """Record the family's consent (channel `pc` from the PC session, else the mini-program)
    and queue the checks the child's county has sources for; 202, answers come later.
    Without the ticked consent 422 DATA_CHECK_CONSENT_REQUIRED, to an older text 409
    DATA_CHECK_CONSENT_OUTDATED, someone else's child 404 CHILD_NOT_FOUND."""
    channel = DataCheckChannel.PC if web_session() else DataCheckChannel.MINI_PROGRAM
    services.ask_checks(current_user(), child_id, version=body.consent_version,
                        agreed=body.agreed, channel=channel)
    return family_view_out(services.family_view(current_user(), child_id))


@bp.get("/me/children/<int:child_id>/data-checks")
@require_roles("parent")
@api(response=DataChecksOut, errors=(404,))
def get_data_checks(child_id: int) -> DataChecksOut:
    """The child's checks: status and message per fact (已由户籍信息核验，无需上传 …), and the
    school zoned for a confirmed address record, as a proposal; 404 CHILD_NOT_FOUND."""
    return family_view_out(services.family_view(current_user(), child_id))
