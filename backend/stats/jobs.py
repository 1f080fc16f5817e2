"""Stats work in the worker: recount a season's registrations into its snapshot.

Readers ask for a recount through Redis (`services._request_refresh`); the periodic chore
`stats.refresh_wanted` runs it in the workers' ticker thread, beside the batch loop, so a
recount of seconds at 1,000,000 registrations never holds up an intake batch. The
`stats.refresh` batch handler stays for jobs queued before readers asked this way."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy.orm import Session

from backend.core.db import db
from backend.core.jobs import Effects, authority_of, batch_handler, periodic
from backend.seasons.services import season_authority
from backend.stats.services import (
    publish_version,
    refresh_counts,
    refresh_wanted,
    release_refresh,
    version_of,
)

logger = logging.getLogger(__name__)


@batch_handler("stats.refresh")
def handle_stats_refresh(session: Session, items: list[tuple[str, dict[str, Any]]],
                         effects: Effects) -> None:
    """Refresh each season asked for once, however many readers asked."""
    wanted: dict[int, dt.datetime] = {}
    versions: dict[int, tuple[int, int]] = {}
    for _message_id, payload in items:
        season_id = int(payload["season_id"])
        requested = dt.datetime.fromisoformat(payload["requested_at"])
        wanted[season_id] = min(requested, wanted.get(season_id, requested))
    for season_id, requested_at in sorted(wanted.items()):
        snapshot = refresh_counts(session, season_id, requested_at=requested_at)
        if snapshot is None:
            logger.info("counts refresh skipped, no such season season_id=%s", season_id)
        else:
            versions[season_id] = version_of(snapshot)

    def release() -> None:
        for season_id, version in versions.items():
            publish_version(season_id, *version)
        release_refresh(wanted)

    # After the commit: the next stale read may queue the next refresh.
    effects.append(release)


@authority_of("stats.refresh")
def refresh_authority(session: Session, payload: dict[str, Any]) -> int | None:
    """A recount is about its season's authority."""
    return season_authority(session, payload["season_id"])


@periodic("stats.refresh_wanted", every_seconds=5)
def refresh_wanted_counts() -> int:
    """Recount the seasons readers found stale, off the batch loop (one worker per round)."""
    return refresh_wanted(db.session())
