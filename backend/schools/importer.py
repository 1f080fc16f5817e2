"""Importing regions, schools and zones from CSV/XLSX files: all rows or none.

A file is read into rows, every row is validated (fields, then references against the
database and the rows above it), and only a file without a single error is applied — in the
caller's transaction, so nothing is ever half-imported.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import logging
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import openpyxl
from pydantic import BaseModel, ValidationError
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from backend.audit.services import record_audit
from backend.core.db import db
from backend.core.errors import ApiError
from backend.schools.import_schemas import (
    ImportResult,
    ImportRowError,
    RegionRow,
    SchoolRow,
    ZoneRow,
)
from backend.schools.models import Region, RegionLevel, School, SchoolZone

logger = logging.getLogger(__name__)

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
# Blank rows are skipped, but a file of a million blank rows must not keep a worker busy.
MAX_SCANNED_ROWS = 50_000
# An XLSX is a ZIP: 2 MiB of it may inflate to gigabytes (a "zip bomb"); real sheets of
# 5000 rows stay far below this.
MAX_XLSX_UNPACKED_BYTES = 64 * 1024 * 1024
MAX_ERRORS_LISTED = 1000
# Large enough for any real catalogue, small enough for one query's parameter list.
_QUERY_CHUNK = 500

_XLSX_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls (and .doc)
# Invisible characters Excel and WeChat copy-paste leave around values (str.strip()
# already removes ordinary, full-width and non-breaking spaces).
_INVISIBLE = "\ufeff\u200b\u200c\u200d\u2060"

Kind = Literal["regions", "schools", "zones"]
Status = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class Column:
    """One column of an import file: the model field, its Chinese header and a sample value."""

    key: str
    label: str
    sample: str


COLUMNS: dict[str, tuple[Column, ...]] = {
    "regions": (
        Column("code", "区域代码", "141124100"),
        Column("name", "名称", "示例镇"),
        Column("level", "级别", "镇"),
        Column("parent_code", "上级代码", ""),
    ),
    "schools": (
        Column("code", "学校代码", "SAMPLE-01"),
        Column("name", "学校名称", "示例小学（样例数据）"),
        Column("type", "办学类型", "公办"),
        Column("town_code", "所在乡镇代码", ""),
        Column("address", "地址", "示例路1号"),
        Column("phone", "咨询电话", "0358-0000000"),
    ),
    "zones": (
        Column("school_code", "学校代码", "SAMPLE-01"),
        Column("region_code", "区域代码", "141124100201"),
    ),
}
KINDS: tuple[str, ...] = tuple(COLUMNS)
_ROW_MODELS: dict[str, type[BaseModel]] = {
    "regions": RegionRow, "schools": SchoolRow, "zones": ZoneRow,
}
CONSULTATION_CONTACT = "招生咨询"


_UNREADABLE = "无法读取文件，请上传 CSV（UTF-8 或 GBK 编码）或 XLSX 文件"


def _unreadable(message: str = _UNREADABLE) -> ApiError:
    return ApiError(422, "IMPORT_UNREADABLE", message)


def _too_many_rows() -> ApiError:
    return ApiError(422, "IMPORT_TOO_MANY_ROWS",
                    f"一次最多导入 {MAX_ROWS} 行数据，请拆分成多个文件")


def too_large() -> ApiError:
    """413 for a file over the size limit."""
    return ApiError(413, "IMPORT_TOO_LARGE",
                    f"文件不能超过 {MAX_BYTES // (1024 * 1024)} MB，请拆分成多个文件")


def check_kind(kind: str) -> Kind:
    """The import kind, or 404 when there is no such import."""
    if kind not in COLUMNS:
        raise ApiError(404, "IMPORT_KIND_NOT_FOUND", "不支持该导入类型")
    return cast(Kind, kind)


# --- reading the file ------------------------------------------------------------------


def _clean(value: Any) -> str:
    if value is None:
        return ""
    # Excel stores codes typed as numbers (141124100) as floats; keep them as written.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().strip(_INVISIBLE).strip()


def _decode(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8):].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _unreadable("文件编码有误，请另存为“CSV UTF-8”或 XLSX 后重试") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        # Excel on Chinese Windows saves "CSV" as GBK; GB18030 reads all of GBK and also
        # the rare characters of some village names that GBK lacks.
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise _unreadable("无法识别文件编码，请另存为“CSV UTF-8”或 XLSX 后重试") from exc


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    text = _decode(data)
    if "\x00" in text:
        raise _unreadable("文件中有无效字符，请另存为“CSV UTF-8”或 XLSX 后重试")
    for record in csv.reader(io.StringIO(text, newline="")):
        yield [_clean(cell) for cell in record]


def _xlsx_rows(data: bytes) -> Iterator[list[str]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if sum(info.file_size for info in archive.infolist()) > MAX_XLSX_UNPACKED_BYTES:
            raise too_large()
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        # The stored dimension may claim 16384 columns × a million rows; read what is there.
        sheet.reset_dimensions()
        for values in sheet.iter_rows(values_only=True):
            yield [_clean(cell) for cell in values]
    finally:
        workbook.close()


@dataclass
class Table:
    """The non-blank rows of an import file, with their row numbers (header = row 1)."""

    format: Literal["csv", "xlsx"]
    header: list[str]
    rows: list[tuple[int, list[str]]] = field(default_factory=list)


def read_table(data: bytes) -> Table:
    """Read a CSV or XLSX file (decided by its bytes, not its name) into rows of strings."""
    if data.startswith(_OLE_MAGIC):
        raise _unreadable("不支持旧版 Excel（.xls）文件，请另存为 .xlsx 或 CSV 后重试")
    fmt: Literal["csv", "xlsx"] = "xlsx" if data.startswith(_XLSX_MAGIC) else "csv"
    reader: Callable[[bytes], Iterator[list[str]]] = _xlsx_rows if fmt == "xlsx" else _csv_rows
    table: Table | None = None
    try:
        # openpyxl warns about Excel features it skips (data validation, styles); they do
        # not affect the values, and must not turn a good file into an error.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # Row numbers are the ones Excel shows: blank rows count, a record is one row.
            for number, cells in enumerate(reader(data), start=1):
                if number > MAX_SCANNED_ROWS:
                    raise _too_many_rows()
                if not any(cells):
                    continue
                if table is None:
                    table = Table(format=fmt, header=cells)
                    continue
                if len(table.rows) >= MAX_ROWS:
                    raise _too_many_rows()
                table.rows.append((number, cells))
    except ApiError:
        raise
    except Exception as exc:
        # A damaged file fails in many ways inside csv/zipfile/openpyxl (BadZipFile,
        # KeyError for a ZIP that is not a workbook, XML errors, csv.Error …); to the
        # user they are all the same: the file cannot be read.
        logger.info("import file unreadable format=%s error=%s", fmt, type(exc).__name__)
        raise _unreadable() from exc
    # An empty file has no header: map_header reports every column as missing.
    return table or Table(format=fmt, header=[])


def _short(text: str) -> str:
    return text if len(text) <= 30 else text[:30] + "…"


def map_header(kind: Kind, header: list[str]) -> list[Column | None]:
    """The column of each header cell (None for blank cells); 422 IMPORT_BAD_HEADER if wrong."""
    columns = COLUMNS[kind]
    # The Chinese header, or the English key for files prepared by other systems.
    names = {c.label: c for c in columns} | {c.key: c for c in columns}
    mapped: list[Column | None] = []
    unknown: list[str] = []
    duplicate: list[str] = []
    for cell in header:
        column = names.get(cell) or names.get(cell.lower())
        if not cell:
            mapped.append(None)
        elif column is None:
            unknown.append(_short(cell))
            mapped.append(None)
        elif column in mapped:
            duplicate.append(column.label)
            mapped.append(None)
        else:
            mapped.append(column)
    missing = [c.label for c in columns if c not in mapped]
    if not header:
        raise ApiError(422, "IMPORT_BAD_HEADER", "文件是空的，请按导入模板填写后再上传",
                       details={"missing": missing, "unknown": [], "duplicate": [],
                                "expected": [c.label for c in columns]})
    if missing or unknown or duplicate:
        problems = []
        if missing:
            problems.append("缺少列：" + "、".join(missing))
        if unknown:
            problems.append("无法识别的列：" + "、".join(unknown[:10]))
        if duplicate:
            problems.append("重复的列：" + "、".join(duplicate))
        raise ApiError(
            422, "IMPORT_BAD_HEADER",
            "表头不正确（" + "；".join(problems) + "），请使用导入模板的表头",
            details={"missing": missing, "unknown": unknown[:10], "duplicate": duplicate,
                     "expected": [c.label for c in columns]},
        )
    return mapped


# --- validating rows ---------------------------------------------------------------------

class _Errors:
    """Row errors collected across the checks of one file."""

    def __init__(self) -> None:
        self.items: list[ImportRowError] = []

    def add(self, row: int, column: str, message: str) -> None:
        self.items.append(ImportRowError(row=row, column=column, message=message))

    def __len__(self) -> int:
        return len(self.items)


def _field_message(error: Any) -> str:
    kind = error["type"]
    if kind == "missing":
        return "此项必填"
    if kind == "string_too_long":
        return f"不能超过 {error['ctx']['max_length']} 个字"
    if kind == "string_too_short":
        return "此项必填"
    if kind in {"code_format", "level_choice", "type_choice", "phone_format"}:
        # Our own validators already speak Chinese.
        return str(error["msg"])
    return "格式不正确"


@dataclass
class _Parsed:
    """Rows that passed the field checks, and the header text of each field for messages."""

    rows: list[tuple[int, Any]]
    labels: dict[str, str]
    # Codes of rows that failed the field checks: references to them are not reported
    # again as "not found" — the row itself already has an error.
    failed_keys: set[str]


def _parse_rows(kind: Kind, table: Table, mapping: list[Column | None],
                errors: _Errors) -> _Parsed:
    labels = {c.key: table.header[i] for i, c in enumerate(mapping) if c is not None}
    model = _ROW_MODELS[kind]
    parsed = _Parsed(rows=[], labels=labels, failed_keys=set())
    for number, cells in table.rows:
        values: dict[str, str] = {}
        stray = False
        for index, cell in enumerate(cells):
            column = mapping[index] if index < len(mapping) else None
            if column is not None:
                if cell:
                    values[column.key] = cell
            elif cell and not stray:
                stray = True
                errors.add(number, f"第 {index + 1} 列",
                           "这一列没有表头，请删除该列内容或使用模板的表头")
        try:
            row = model.model_validate(values)
        except ValidationError as exc:
            for err in exc.errors(include_url=False, include_input=False):
                key = str(err["loc"][0]) if err["loc"] else ""
                errors.add(number, labels.get(key, key), _field_message(err))
            if values.get("code"):
                parsed.failed_keys.add(values["code"])
            continue
        if not stray:
            parsed.rows.append((number, row))
    return parsed


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    ordered = sorted(set(values))
    for start in range(0, len(ordered), _QUERY_CHUNK):
        yield ordered[start:start + _QUERY_CHUNK]


def _load(stmt: Callable[[list[str]], Select[Any]], codes: Iterable[str]) -> list[Any]:
    found: list[Any] = []
    for chunk in _chunks(codes):
        found.extend(db.session.scalars(stmt(chunk)))
    return found


@dataclass
class _Plan:
    """One validated row and what applying it will do."""

    row: int
    data: Any
    existing: Any
    status: Status


def _duplicate(seen: dict[Any, int], key: Any, number: int) -> int | None:
    first = seen.get(key)
    if first is None:
        seen[key] = number
    return first


def _plan_regions(parsed: _Parsed, authority_id: int, errors: _Errors) -> list[_Plan]:
    rows: list[tuple[int, RegionRow]] = parsed.rows
    label = parsed.labels
    in_file = {r.code for _, r in rows} | parsed.failed_keys
    known: dict[str, Region] = {r.code: r for r in _load(
        lambda chunk: select(Region).where(Region.code.in_(chunk))
        .options(selectinload(Region.parent)),
        in_file | {r.parent_code for _, r in rows if r.parent_code},
    )}
    seen: dict[Any, int] = {}
    level_above: dict[str, RegionLevel] = {}
    plans: list[_Plan] = []
    for number, row in rows:
        before = len(errors)
        first = _duplicate(seen, row.code, number)
        if first is not None:
            errors.add(number, label["code"], f"与第 {first} 行的区域代码重复")
            continue
        existing = known.get(row.code)
        is_town = row.level is RegionLevel.TOWN
        if existing is not None and existing.authority_id != authority_id:
            errors.add(number, label["code"], "该区域代码已被其他教育局使用")
            existing = None
        elif existing is not None and (existing.level is RegionLevel.TOWN) != is_town:
            # Towns carry villages and schools, villages carry zones: changing between the
            # two would strand them.
            errors.add(number, label["level"], "已有区域不能在乡镇与村/社区之间改变级别")
        parent_code = row.parent_code
        if is_town:
            if parent_code:
                errors.add(number, label["parent_code"], "乡镇不填写上级代码")
        elif not parent_code:
            errors.add(number, label["parent_code"], "村或社区必须填写所属乡镇的区域代码")
        elif parent_code == row.code:
            errors.add(number, label["parent_code"], "上级代码不能是本区域自己")
        elif parent_code in level_above:
            if level_above[parent_code] is not RegionLevel.TOWN:
                errors.add(number, label["parent_code"], "上级区域必须是乡镇")
        elif parent_code not in parsed.failed_keys:
            parent = known.get(parent_code)
            if parent is not None and parent.authority_id == authority_id:
                if parent.level is not RegionLevel.TOWN:
                    errors.add(number, label["parent_code"], "上级区域必须是乡镇")
            elif parent_code in in_file:
                errors.add(number, label["parent_code"], "所属乡镇要写在本行之前")
            else:
                errors.add(number, label["parent_code"],
                           f"本辖区没有区域代码为 {parent_code} 的乡镇")
        level_above[row.code] = row.level
        if len(errors) > before:
            continue
        if existing is None:
            status: Status = "created"
        else:
            current = (existing.name, existing.level,
                       existing.parent.code if existing.parent else None)
            status = "unchanged" if current == (row.name, row.level, parent_code) else "updated"
        plans.append(_Plan(number, row, existing, status))
    return plans


def _apply_regions(plans: list[_Plan], authority_id: int) -> None:
    by_code: dict[str, Region] = {}
    parent_codes = {p.data.parent_code for p in plans if p.data.parent_code}
    for town in _load(
        lambda chunk: select(Region).where(Region.authority_id == authority_id,
                                           Region.code.in_(chunk)),
        parent_codes,
    ):
        by_code[town.code] = town
    for plan in plans:
        row: RegionRow = plan.data
        region: Region | None = plan.existing
        if region is None:
            region = Region(authority_id=authority_id, code=row.code)
            db.session.add(region)
        by_code[row.code] = region
        if plan.status == "unchanged":
            continue
        region.name = row.name
        region.level = row.level
        region.parent = by_code[row.parent_code] if row.parent_code else None


def _contacts(current: list[dict[str, Any]], phone: str | None) -> list[dict[str, Any]]:
    # The file owns only the consultation line; other contacts the bureau added stay.
    kept = [c for c in current if c.get("name") != CONSULTATION_CONTACT]
    return kept + ([{"name": CONSULTATION_CONTACT, "phone": phone}] if phone else [])


def _plan_schools(parsed: _Parsed, authority_id: int, errors: _Errors) -> list[_Plan]:
    rows: list[tuple[int, SchoolRow]] = parsed.rows
    label = parsed.labels
    known: dict[str, School] = {s.code: s for s in _load(
        lambda chunk: select(School).where(School.code.in_(chunk)), (r.code for _, r in rows)
    )}
    towns: dict[str, Region] = {t.code: t for t in _load(
        lambda chunk: select(Region).where(
            Region.authority_id == authority_id, Region.level == RegionLevel.TOWN,
            Region.code.in_(chunk)),
        (r.town_code for _, r in rows if r.town_code),
    )}
    seen: dict[Any, int] = {}
    plans: list[_Plan] = []
    for number, row in rows:
        before = len(errors)
        first = _duplicate(seen, row.code, number)
        if first is not None:
            errors.add(number, label["code"], f"与第 {first} 行的学校代码重复")
            continue
        existing = known.get(row.code)
        if existing is not None and existing.authority_id != authority_id:
            # School codes are unique in the whole deployment (they ride in QR codes).
            errors.add(number, label["code"], "该学校代码已被其他教育局使用")
        town = towns.get(row.town_code) if row.town_code else None
        if row.town_code and town is None:
            errors.add(number, label["town_code"],
                       f"本辖区没有区域代码为 {row.town_code} 的乡镇，请先导入区域")
        if len(errors) > before:
            continue
        if existing is None:
            status: Status = "created"
        else:
            current = (existing.name, existing.type, existing.town_id, existing.address,
                       existing.contacts)
            wanted = (row.name, row.type, town.id if town else None, row.address,
                      _contacts(existing.contacts, row.phone))
            status = "unchanged" if current == wanted else "updated"
        plans.append(_Plan(number, (row, town), existing, status))
    return plans


def _apply_schools(plans: list[_Plan], authority_id: int) -> None:
    for plan in plans:
        if plan.status == "unchanged":
            continue
        row, town = plan.data
        school: School | None = plan.existing
        if school is None:
            school = School(authority_id=authority_id, code=row.code, contacts=[],
                            required_materials={})
            db.session.add(school)
        school.name = row.name
        school.type = row.type
        school.town_id = town.id if town else None
        school.address = row.address
        school.contacts = _contacts(school.contacts or [], row.phone)


def _plan_zones(parsed: _Parsed, authority_id: int, errors: _Errors) -> list[_Plan]:
    rows: list[tuple[int, ZoneRow]] = parsed.rows
    label = parsed.labels
    schools: dict[str, School] = {s.code: s for s in _load(
        lambda chunk: select(School).where(School.authority_id == authority_id,
                                           School.code.in_(chunk)),
        (r.school_code for _, r in rows),
    )}
    regions: dict[str, Region] = {r.code: r for r in _load(
        lambda chunk: select(Region).where(Region.authority_id == authority_id,
                                           Region.code.in_(chunk)),
        (r.region_code for _, r in rows),
    )}
    linked: set[tuple[int, int]] = set()
    school_ids = [s.id for s in schools.values()]
    for start in range(0, len(school_ids), _QUERY_CHUNK):
        chunk = school_ids[start:start + _QUERY_CHUNK]
        linked.update(
            (school_id, region_id) for school_id, region_id in db.session.execute(
                select(SchoolZone.school_id, SchoolZone.region_id)
                .where(SchoolZone.school_id.in_(chunk)))
        )
    seen: dict[Any, int] = {}
    plans: list[_Plan] = []
    for number, row in rows:
        before = len(errors)
        first = _duplicate(seen, (row.school_code, row.region_code), number)
        if first is not None:
            errors.add(number, label["region_code"], f"与第 {first} 行重复")
            continue
        school = schools.get(row.school_code)
        region = regions.get(row.region_code)
        if school is None:
            errors.add(number, label["school_code"],
                       f"本辖区没有学校代码为 {row.school_code} 的学校，请先导入学校")
        if region is None:
            errors.add(number, label["region_code"],
                       f"本辖区没有区域代码为 {row.region_code} 的村或社区，请先导入区域")
        elif region.level is RegionLevel.TOWN:
            errors.add(number, label["region_code"],
                       "划片范围要填写村或社区，不能填写乡镇")
        if len(errors) > before or school is None or region is None:
            continue
        status: Status = "unchanged" if (school.id, region.id) in linked else "created"
        plans.append(_Plan(number, (school, region), None, status))
    return plans


def _apply_zones(plans: list[_Plan], authority_id: int) -> None:
    for plan in plans:
        if plan.status == "created":
            school, region = plan.data
            db.session.add(SchoolZone(school_id=school.id, region_id=region.id))


_PLANNERS: dict[str, Callable[[_Parsed, int, _Errors], list[_Plan]]] = {
    "regions": _plan_regions, "schools": _plan_schools, "zones": _plan_zones,
}
_APPLIERS: dict[str, Callable[[list[_Plan], int], None]] = {
    "regions": _apply_regions, "schools": _apply_schools, "zones": _apply_zones,
}


def import_catalogue(
    kind: str,
    data: bytes,
    *,
    authority_id: int,
    dry_run: bool,
    actor_user_id: int | None = None,
    actor_role: str | None = None,
    client_fingerprint: str | None = None,
) -> ImportResult:
    """Check a regions/schools/zones file and, unless dry_run, apply it — every row or none.

    Rows are upserted by code within the authority. Zone rows only add links: an import
    never removes a village from a school's zone (a file that omits one is not a deletion).
    """
    checked_kind = check_kind(kind)
    if len(data) > MAX_BYTES:
        raise too_large()
    table = read_table(data)
    mapping = map_header(checked_kind, table.header)
    if not table.rows:
        raise ApiError(422, "IMPORT_NO_ROWS", "文件中只有表头，没有数据行")
    errors = _Errors()
    parsed = _parse_rows(checked_kind, table, mapping, errors)
    plans = _PLANNERS[checked_kind](parsed, authority_id, errors)
    if errors:
        items = sorted(errors.items, key=lambda e: e.row)
        bad_rows = len({e.row for e in items})
        raise ApiError(
            422, "IMPORT_INVALID", f"导入文件有 {bad_rows} 行错误，未导入任何数据",
            details={"errors": [e.model_dump() for e in items[:MAX_ERRORS_LISTED]],
                     "error_rows": bad_rows, "truncated": len(items) > MAX_ERRORS_LISTED},
        )
    counts = {status: sum(1 for p in plans if p.status == status)
              for status in ("created", "updated", "unchanged")}
    if not dry_run:
        _APPLIERS[checked_kind](plans, authority_id)
        try:
            db.session.flush()
        except IntegrityError as exc:
            # Another import changed the same codes between our checks and this write.
            raise ApiError(409, "IMPORT_CONFLICT",
                           "数据刚被其他操作修改，请重新检查后再导入") from exc
        record_audit(
            db.session(), action=f"import.{checked_kind}", actor_user_id=actor_user_id,
            actor_role=actor_role, object_type="import", object_id=checked_kind,
            client_fingerprint=client_fingerprint,
            details={"kind": checked_kind, "format": table.format, "rows": len(table.rows),
                     **counts, "sha256": hashlib.sha256(data).hexdigest()},
        )
        logger.info("catalogue import kind=%s authority_id=%s rows=%s created=%s updated=%s",
                    checked_kind, authority_id, len(table.rows), counts["created"],
                    counts["updated"])
    return ImportResult(kind=checked_kind, dry_run=dry_run, rows=len(table.rows),
                        errors=[], **counts)


def template_csv(kind: str) -> bytes:
    """The CSV template of an import: header and one sample row, UTF-8 with BOM for Excel."""
    columns = COLUMNS[check_kind(kind)]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([c.label for c in columns])
    writer.writerow([c.sample for c in columns])
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")
