"""The intake's checks on facts: window, child, age, basis, zone and documents.

Pure functions over plain facts (the catalogue's school and season, the child's and the
documents' cached facts) and the time: no Redis, no database, so each rule is testable on
its own. `intake.py` reads the facts and queues what passes; nothing here ranks by time
(报名先后不影响录取).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from backend.core.errors import ApiError
from backend.core.timeutil import zone
from backend.identity.eligibility import eligibility
from backend.registrations.catalog import SchoolFacts, SeasonFacts
from backend.registrations.facts import ChildFacts
from backend.registrations.materials import missing_uploads
from backend.registrations.models import Basis
from backend.uploads.models import UploadKind

FAIRNESS_NOTICE = "报名先后不影响录取"

# upload id → (owner user id, kind), as the intake's fact cache holds them
OwnedUploads = dict[str, tuple[int, str]]


def local_text(value: dt.datetime, zone_name: str) -> str:
    """A time as families read it: "8月5日 08:00" in the authority's zone."""
    local = value.astimezone(zone(zone_name))
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def check_window(season: SeasonFacts, now: dt.datetime) -> None:
    """409 before the window opens (with the opening time) and once it has closed."""
    if now < season.opens_at:
        raise ApiError(409, "REGISTRATION_NOT_OPEN",
                       f"报名尚未开始，开始时间：{local_text(season.opens_at, season.timezone)}"
                       f"（{FAIRNESS_NOTICE}）",
                       details={"opens_at": season.opens_at.isoformat()})
    if now >= season.closes_at:
        raise ApiError(409, "REGISTRATION_CLOSED",
                       f"报名已于{local_text(season.closes_at, season.timezone)}截止")


def _region_for_basis(child: ChildFacts, basis: Basis) -> int:
    if basis is Basis.HUKOU:
        return child.hukou_region_id
    if child.residence_region_id is None:
        raise ApiError(422, "RESIDENCE_REQUIRED", "按居住地报名，请先在儿童信息中填写实际居住地址")
    if basis is Basis.RESIDENCE_PERMIT and not child.has_residence_permit:
        raise ApiError(422, "RESIDENCE_PERMIT_REQUIRED", "按居住证报名，请先在儿童信息中填写居住证")
    return child.residence_region_id


def placement(school: SchoolFacts, child: ChildFacts, basis: str) -> tuple[Basis, bool]:
    """The basis, checked against the school, and whether the child is out of its zone."""
    registration_basis = Basis(basis)
    if school.bases is not None and basis not in school.bases:
        raise ApiError(422, "BASIS_NOT_ACCEPTED", "该校不接受此类报名依据，请查看学校招生办法")
    out_of_zone = _region_for_basis(child, registration_basis) not in school.zone_region_ids
    # 划片: public schools admit their zone; private schools (公民同招) admit county-wide,
    # i.e. children whose household registration is in the school's county.
    if out_of_zone and (not school.is_private or child.authority_id != school.authority_id):
        raise ApiError(422, "OUT_OF_ZONE", f"所选地址不在{school.name}的招生范围内，请查询划片学校")
    return registration_basis, out_of_zone


def check_documents(user_id: int, basis: Basis, categories: list[str],
                    upload_ids: list[str], owned: OwnedUploads, *,
                    verified: Iterable[str] = (), refused: Mapping[str, str] | None = None,
                    ) -> None:
    """Every named document is the caller's, and together with the documents government
    data confirmed (`verified` kinds) they cover what the basis needs; a missing document
    whose check failed says why (`refused`: kind → message)."""
    if any(owned.get(u, (None, ""))[0] != user_id for u in upload_ids):
        raise ApiError(422, "UPLOAD_NOT_FOUND", "部分材料不存在或已删除，请重新上传")
    have = {UploadKind(kind) for _owner, kind in owned.values()}
    have.update(UploadKind(kind) for kind in verified)
    missing = missing_uploads(basis, categories, have)
    if missing:
        reasons = {kind: (refused or {})[kind] for kind in missing if kind in (refused or {})}
        details: dict[str, object] = {"missing": missing}
        if reasons:
            details["reasons"] = reasons
        raise ApiError(422, "UPLOADS_MISSING", "还缺少必需的材料，请上传后再提交",
                       details=details)


@dataclass(frozen=True)
class Checked:
    """A submission that passed every check: where it goes and how."""

    school: SchoolFacts
    season: SeasonFacts
    basis: Basis
    out_of_zone: bool


def check_submission(user_id: int, *, school: SchoolFacts, season: SeasonFacts,
                     child_id: int, child: ChildFacts | None, basis: str,
                     upload_ids: list[str], owned: OwnedUploads,
                     now: dt.datetime) -> Checked:
    """The synchronous checks, final and cheap: window, child, eligibility, zone, documents."""
    check_window(season, now)
    if child is None or child.owner_user_id != user_id:
        raise ApiError(404, "CHILD_NOT_FOUND", "未找到该儿童信息")
    verdict = eligibility(child.birth_date, season.year, season.age_cutoff)
    if not verdict.eligible:
        raise ApiError(422, "NOT_ELIGIBLE", verdict.reason)
    registration_basis, out_of_zone = placement(school, child, basis)
    check_documents(user_id, registration_basis, child.categories, upload_ids, owned,
                    verified=child.verified, refused=child.refused)
    return Checked(school=school, season=season, basis=registration_basis,
                   out_of_zone=out_of_zone)


def already_registered() -> ApiError:
    """409: the child has a registration in flight or active this season."""
    return ApiError(409, "ALREADY_REGISTERED",
                    "该儿童本学年已有有效报名；如需更改学校，请先撤回原报名")
