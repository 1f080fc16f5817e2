"""Stats API: live counts for administrators and school staff, and for the public."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, request

from backend.core.api import api
from backend.core.auth import STAFF, current_user, require_roles
from backend.stats import services
from backend.stats.schemas import PublicStatsOut, PublicStatsQuery, StatsOut, StatsQuery

bp = Blueprint("stats", __name__, url_prefix="/api/v1")


def _from_cache(view: Callable[..., Response]) -> Callable[..., Response]:
    """Answer from Redis alone when the caller's answer is cached (session included: one
    round trip, no database); otherwise the full path below checks everything again."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        body = services.cached_admin_stats(request.args)
        if body is not None:
            return Response(body, mimetype="application/json")
        return view(*args, **kwargs)

    return wrapper


@bp.get("/admin/stats")
@_from_cache
@require_roles(*STAFF)
@api(query=StatsQuery, response=StatsOut, errors=(404, 422), tags=("stats",))
def admin_stats(query: StatsQuery) -> Response:
    """Registrations of a season by school (with plan and shortage level), status, basis,
    category, day, hour or town; school staff see their own school only."""
    return Response(services.admin_stats_json(current_user(), query.by, query.season),
                    mimetype="application/json")


@bp.get("/stats/public")
@api(query=PublicStatsQuery, response=PublicStatsOut, errors=(404,), tags=("stats",))
def public_stats(query: PublicStatsQuery) -> Response:
    """Active registrations per school against the plan, for the current season(s); no
    login, no personal data; cached for a few seconds."""
    body = services.public_stats_json(query.authority)
    response = Response(body, mimetype="application/json")
    response.headers["Cache-Control"] = (
        f"public, max-age={int(services.setting('STATS_PUBLIC_CACHE_SECONDS'))}")
    return response
