"""Registration exports (.xlsx): masked by default; the full export is the bureau's, audited.

The workbook is written row by row in openpyxl's write-only mode into a temporary file
while the rows stream from the database, so memory stays flat whatever the county's size;
the route then streams the file out in chunks.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from sqlalchemy import select

from backend.accounts import scope
from backend.accounts.models import Role, User
from backend.audit.services import client_fingerprint, record_audit
from backend.authorities.models import EducationAuthority
from backend.core import pii
from backend.core.db import db, utcnow
from backend.core.errors import ApiError
from backend.core.timeutil import zone
from backend.identity import services as identity
from backend.identity.categories import CATEGORIES
from backend.identity.models import Child, Guardian
from backend.registrations.models import Registration
from backend.registrations.schemas import STATUS_NAMES
from backend.reviews.schemas import BASIS_NAMES
from backend.reviews.services import Filters, criteria, resolve_school
from backend.schools.models import Region, School
from backend.seasons.models import Season

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK = 64 * 1024
SEX_NAMES = {"male": "男", "female": "女"}
RELATION_NAMES = {"father": "父亲", "mother": "母亲", "grandparent": "祖父母/外祖父母",
                  "other_guardian": "其他监护人"}

# (header, key) in column order; "full" columns appear only in the full export.
COLUMNS: list[tuple[str, str, bool]] = [
    ("报名编号", "id", False), ("回执号", "ticket", False), ("学年", "year", False),
    ("学校", "school", False), ("审核状态", "status", False), ("儿童姓名", "child_name", False),
    ("性别", "sex", False), ("出生日期", "birth_date", True),
    ("儿童证件号码", "child_id_number", False), ("特殊群体", "categories", False),
    ("报名依据", "basis", False), ("户籍地", "hukou", False), ("实际居住地", "residence", False),
    ("是否片区外", "out_of_zone", False), ("监护人姓名", "guardian_name", False),
    ("与儿童关系", "relation", False), ("监护人电话", "guardian_phone", False),
    ("提交时间", "submitted_at", False), ("修改期限", "fix_deadline", False),
]


@dataclass
class ExportFile:
    """A finished workbook in a temporary file, and the names to offer it under."""

    file: IO[bytes]
    size: int
    filename: str  # ASCII fallback
    display_name: str  # UTF-8 (RFC 5987)
    rows: int

    def chunks(self) -> Iterator[bytes]:
        """The file in chunks; the file is closed (and so deleted) at the end."""
        try:
            self.file.seek(0)
            while chunk := self.file.read(CHUNK):
                yield chunk
        finally:
            self.file.close()


def write_sheet(title: str, columns: list[tuple[str, str]],
                rows: Iterable[dict[str, Any]]) -> tuple[IO[bytes], int, int]:
    """One write-only sheet saved to a temporary file: (file, size in bytes, data rows)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    sheet.append([header for header, _key in columns])
    count = 0
    try:
        for row in rows:
            cells = []
            for _header, key in columns:
                cell = WriteOnlyCell(sheet, value=row[key])
                if isinstance(row[key], str):
                    # Text stays text: an ID number never becomes a number, "=" never a formula.
                    cell.data_type = "s"
                cells.append(cell)
            sheet.append(cells)
            count += 1
    except BaseException:
        # e.g. a filter naming another school (404) raised while the rows are read: finish
        # the sheet's temporary file now, or its writer fails when it is collected.
        sheet.close()
        raise
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - closed by ExportFile.chunks()
    try:
        workbook.save(handle)
        return handle, handle.tell(), count
    except BaseException:
        handle.close()
        raise


def _plain_or_masked(token: str | None, purpose: str, full: bool,
                     mask: Callable[[str], str]) -> str:
    if not token:
        return ""
    try:
        value = pii.decrypt(token, purpose)
    except pii.DecryptionError:
        return ""
    return value if full else mask(value)


def _place(regions: dict[int, tuple[str, int | None]], region_id: int | None, address: str,
           full: bool) -> str:
    if region_id is None or region_id not in regions:
        return ""
    name, parent_id = regions[region_id]
    parts = [regions[parent_id][0]] if parent_id in regions else []
    parts.append(name)
    # The street address is the family's: only the full export carries it.
    if full and address:
        parts.append(address)
    return " ".join(parts)


def _local(value: dt.datetime | None, zone_name: str) -> str:
    return value.astimezone(zone(zone_name)).strftime("%Y-%m-%d %H:%M") if value else ""


def _rows(user: User, filters: Filters, full: bool, zone_name: str) -> Iterator[dict[str, Any]]:
    regions = {r.id: (r.name, r.parent_id) for r in db.session.execute(
        select(Region.id, Region.name, Region.parent_id))}
    stmt = (select(Registration.id, Registration.ticket, Registration.status,
                   Registration.basis, Registration.out_of_zone, Registration.created_at,
                   Registration.fix_deadline, Season.year, School.name.label("school"),
                   Child.name.label("child_name"), Child.id_number_enc, Child.sex,
                   Child.birth_date, Child.categories, Child.hukou_region_id,
                   Child.hukou_address, Child.residence_region_id, Child.residence_address,
                   Guardian.name.label("guardian_name"), Guardian.relation, Guardian.phone_enc)
            .select_from(Registration)
            .join(Child, Registration.child_id == Child.id)
            .join(School, Registration.school_id == School.id)
            .join(Season, Registration.season_id == Season.id)
            .join(Guardian, Child.guardian_id == Guardian.id)
            .where(*criteria(user, filters))
            # By id, never by time: 报名先后不影响录取.
            .order_by(Registration.id)
            .execution_options(yield_per=1000))
    for row in db.session.execute(stmt):
        yield {
            "id": row.id, "ticket": row.ticket, "year": row.year, "school": row.school,
            "status": STATUS_NAMES[row.status.value],
            "child_name": row.child_name if full else pii.mask_name(row.child_name),
            "sex": SEX_NAMES.get(row.sex.value, ""),
            "birth_date": row.birth_date.isoformat(),
            "child_id_number": _plain_or_masked(row.id_number_enc, identity.CHILD_ID, full,
                                                pii.mask_id_number),
            "categories": "、".join(CATEGORIES[k][0] for k in row.categories or []
                                   if k in CATEGORIES),
            "basis": BASIS_NAMES[row.basis.value],
            "hukou": _place(regions, row.hukou_region_id, row.hukou_address, full),
            "residence": _place(regions, row.residence_region_id, row.residence_address, full),
            "out_of_zone": "是" if row.out_of_zone else "否",
            "guardian_name": row.guardian_name if full else pii.mask_name(row.guardian_name),
            "relation": RELATION_NAMES.get(row.relation.value, ""),
            "guardian_phone": _plain_or_masked(row.phone_enc, identity.GUARDIAN_PHONE, full,
                                               pii.mask_phone),
            "submitted_at": _local(row.created_at, zone_name),
            "fix_deadline": _local(row.fix_deadline, zone_name),
        }


def _scope_names(user: User, filters: Filters) -> tuple[str, str, str, int]:
    """(ascii name, Chinese name, audited object type, object id) of what is exported."""
    school = resolve_school(user, filters.school) if filters.school else scope.own_school(user)
    if school is not None:
        return school.code, school.name, "school", school.id
    authority = db.session.get(EducationAuthority, scope.authority_id(user))
    if authority is None:
        raise ApiError(404, "AUTHORITY_NOT_FOUND", "未找到该教育局")
    return authority.code, authority.name, "authority", authority.id


def export_registrations(user: User, filters: Filters, *, full: bool,
                         client_address: str | None,
                         now: dt.datetime | None = None) -> ExportFile:
    """The registrations the staff list would show, as one .xlsx sheet (audited)."""
    if full and user.role is not Role.BUREAU_ADMIN:
        raise ApiError(403, "FULL_EXPORT_FORBIDDEN", "完整信息导出仅限教育局管理员")
    now = now or utcnow()
    authority = db.session.get(EducationAuthority, scope.authority_id(user))
    zone_name = authority.timezone if authority else None
    code, name, object_type, object_id = _scope_names(user, filters)
    columns = [(header, key) for header, key, only_full in COLUMNS if full or not only_full]

    handle, size, count = write_sheet(
        "报名名单", columns, _rows(user, filters, full, zone_name or "Asia/Shanghai"))
    stamp = now.astimezone(zone(zone_name)).strftime("%Y%m%d-%H%M")
    kind = "full" if full else "masked"
    record_audit(db.session, action="registrations.export", actor_user_id=user.id,
                 actor_role=user.role.value, object_type=object_type, object_id=object_id,
                 client_fingerprint=client_fingerprint(client_address),
                 details={"filters": filters.used(), "full": full, "rows": count})
    logger.info("registrations exported actor_user_id=%s scope=%s:%s full=%s rows=%s",
                user.id, object_type, object_id, full, count)
    return ExportFile(
        file=handle, size=size, rows=count,
        filename=f"registrations-{code}-{stamp}-{kind}.xlsx",
        display_name=f"报名名单-{name}-{stamp}{'-完整' if full else ''}.xlsx")
