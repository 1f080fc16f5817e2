"""Bureau admins import regions, schools and zones from CSV/XLSX: checked first, all or nothing."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from backend.audit.models import AuditEvent
from backend.authorities.models import EducationAuthority
from backend.core.db import db
from backend.schools.models import Region, RegionLevel, School, SchoolZone
from tests.conftest import bearer
from tests.factories import (
    STAFF_PASSWORD,
    make_authority,
    make_region,
    make_school,
    make_staff,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "imports"
REGION_HEADER = ["区域代码", "名称", "级别", "上级代码"]
SCHOOL_HEADER = ["学校代码", "学校名称", "办学类型", "所在乡镇代码", "地址", "咨询电话"]
ZONE_HEADER = ["学校代码", "区域代码"]
REGIONS = [
    REGION_HEADER,
    ["T100", "临泉镇", "镇", ""],
    ["T100-01", "东关村（示例）", "村", "T100"],
    ["T100-02", "西街社区（示例）", "社区", "T100"],
    ["T200", "白文镇", "乡", ""],
    ["T200-01", "白文村（示例）", "village", "T200"],
]
SCHOOLS = [
    SCHOOL_HEADER,
    ["IMP-01", "临泉示例小学", "公办", "T100", "东关街1号", "0358-0000001"],
    ["IMP-02", "白文示例民办小学", "民办", "T200", "", ""],
]
ZONES = [
    ZONE_HEADER,
    ["IMP-01", "T100-01"],
    ["IMP-01", "T100-02"],
    ["IMP-02", "T100-01"],
    ["IMP-02", "T200-01"],
]

Login = Callable[[str, str], dict[str, Any]]


def _csv(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def _xlsx(rows: list[list[Any]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _admin(client: FlaskClient, login: Login) -> tuple[EducationAuthority, dict[str, str]]:
    authority = make_authority()
    user = make_staff(authority)
    token = login(user.username or "", STAFF_PASSWORD)["token"]
    return authority, bearer(token)


def _upload(client: FlaskClient, headers: dict[str, str], kind: str, content: bytes, *,
            dry_run: str | None = None, filename: str = "data.csv") -> Any:
    fields: dict[str, Any] = {"file": FileStorage(io.BytesIO(content), filename)}
    if dry_run is not None:
        fields["dry_run"] = dry_run
    # Encoded in memory: the test client spools big bodies to a temporary file it never
    # closes, which the test run would report as a leaked file.
    boundary, body = encode_multipart(MultiDict(fields))
    return client.post(f"/api/v1/admin/imports/{kind}", headers=headers, data=body,
                       content_type=f'multipart/form-data; boundary="{boundary}"')


def _apply(client: FlaskClient, headers: dict[str, str], kind: str, content: bytes,
           **kw: Any) -> dict[str, Any]:
    response = _upload(client, headers, kind, content, dry_run="false", **kw)
    assert response.status_code == 200, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def _count(model: Any, authority: EducationAuthority) -> int:
    return db.session.scalar(
        select(func.count()).select_from(model).where(model.authority_id == authority.id)
    ) or 0


def _zone_count(authority: EducationAuthority) -> int:
    return db.session.scalar(
        select(func.count()).select_from(SchoolZone).join(School)
        .where(School.authority_id == authority.id)
    ) or 0


def _error(response: Any) -> dict[str, Any]:
    return response.get_json()["error"]  # type: ignore[no-any-return]


def test_dry_run_reports_counts_and_writes_nothing(
    client: FlaskClient, session: Any, login_staff: Login
) -> None:
    authority, headers = _admin(client, login_staff)
    response = _upload(client, headers, "regions", _csv(REGIONS))  # dry_run defaults to true
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"kind": "regions", "dry_run": True, "rows": 5,
                                   "created": 5, "updated": 0, "unchanged": 0, "errors": []}
    assert _count(Region, authority) == 0
    regions = client.get(f"/api/v1/regions?authority={authority.code}").get_json()
    assert regions["items"] == []
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action.like("import.%"))) == 0


def test_import_creates_what_the_catalogue_shows_and_is_audited(
    client: FlaskClient, session: Any, login_staff: Login
) -> None:
    authority, headers = _admin(client, login_staff)
    regions_file = _csv(REGIONS, "utf-8-sig")
    assert _apply(client, headers, "regions", regions_file)["created"] == 5
    assert _apply(client, headers, "schools", _csv(SCHOOLS))["created"] == 2
    assert _apply(client, headers, "zones", _csv(ZONES))["created"] == 4

    regions = client.get(f"/api/v1/regions?authority={authority.code}").get_json()["items"]
    assert [(t["code"], t["name"]) for t in regions] == [("T100", "临泉镇"), ("T200", "白文镇")]
    assert [(v["code"], v["level"]) for v in regions[0]["villages"]] == [
        ("T100-01", "village"), ("T100-02", "community")]
    schools = client.get(f"/api/v1/schools?authority={authority.code}").get_json()["items"]
    assert [(s["code"], s["type"], s["town"]["code"]) for s in schools] == [
        ("IMP-01", "public", "T100"), ("IMP-02", "private", "T200")]
    detail = client.get("/api/v1/schools/IMP-01").get_json()
    assert detail["address"] == "东关街1号"
    assert detail["contacts"] == [{"name": "招生咨询", "phone": "0358-0000001"}]
    assert [z["code"] for z in detail["zone"]] == ["T100-01", "T100-02"]
    assert client.get("/api/v1/schools/IMP-02").get_json()["contacts"] == []

    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "import.regions"))
    assert event is not None
    assert event.actor_role == "bureau_admin"
    assert event.details["sha256"] == hashlib.sha256(regions_file).hexdigest()
    assert event.details["created"] == 5 and event.details["rows"] == 5
    assert "临泉镇" not in str(event.details)  # counts and a hash, never the content


def test_reimport_is_unchanged_and_edits_are_updates(
    client: FlaskClient, session: Any, login_staff: Login
) -> None:
    authority, headers = _admin(client, login_staff)
    for kind, rows in (("regions", REGIONS), ("schools", SCHOOLS), ("zones", ZONES)):
        _apply(client, headers, kind, _csv(rows))
    for kind, rows in (("regions", REGIONS), ("schools", SCHOOLS), ("zones", ZONES)):
        again = _apply(client, headers, kind, _csv(rows))
        assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, len(rows) - 1)

    edited = [list(r) for r in SCHOOLS]
    edited[1][1] = "临泉示例小学（新校区）"
    edited[1][5] = "0358-0000009"
    edited[2][3] = "T100"
    dry = _upload(client, headers, "schools", _csv(edited)).get_json()
    assert (dry["created"], dry["updated"], dry["unchanged"]) == (0, 2, 0)
    assert client.get("/api/v1/schools/IMP-01").get_json()["name"] == "临泉示例小学"
    _apply(client, headers, "schools", _csv(edited))
    detail = client.get("/api/v1/schools/IMP-01").get_json()
    assert detail["name"] == "临泉示例小学（新校区）"
    assert detail["contacts"] == [{"name": "招生咨询", "phone": "0358-0000009"}]
    assert client.get("/api/v1/schools/IMP-02").get_json()["town"]["code"] == "T100"

    moved = [REGION_HEADER, ["T200-01", "白文村（更名）", "村", "T100"]]
    assert _apply(client, headers, "regions", _csv(moved))["updated"] == 1
    towns = client.get(f"/api/v1/regions?authority={authority.code}").get_json()["items"]
    assert "T200-01" in [v["code"] for v in towns[0]["villages"]]
    assert towns[1]["villages"] == []


def test_zone_import_only_adds_links(
    client: FlaskClient, session: Any, login_staff: Login
) -> None:
    authority, headers = _admin(client, login_staff)
    town = make_region(authority, code="ZT1")
    kept = make_region(authority, level=RegionLevel.VILLAGE, parent=town, code="ZV1")
    added = make_region(authority, level=RegionLevel.VILLAGE, parent=town, code="ZV2")
    make_school(authority, code="ZS1", zone=[kept])
    result = _apply(client, headers, "zones", _csv([ZONE_HEADER, ["ZS1", added.code]]))
    assert (result["created"], result["unchanged"]) == (1, 0)
    zone = client.get("/api/v1/schools/ZS1").get_json()["zone"]
    assert [z["code"] for z in zone] == ["ZV1", "ZV2"]


def test_one_bad_row_rejects_the_whole_file(
    client: FlaskClient, session: Any, login_staff: Login
) -> None:
    authority, headers = _admin(client, login_staff)
    rows = [list(r) for r in REGIONS]
    rows[3][2] = "县"  # row 4 of the file: not a level
    for dry_run in ("true", "false"):
        response = _upload(client, headers, "regions", _csv(rows), dry_run=dry_run)
        assert response.status_code == 422
        error = _error(response)
        assert error["code"] == "IMPORT_INVALID"
        assert error["message"] == "导入文件有 1 行错误，未导入任何数据"
        assert error["details"]["errors"] == [
            {"row": 4, "column": "级别", "message": "级别只能填写：镇、乡、村、社区"}]
        assert _count(Region, authority) == 0

    # Several kinds of mistakes, each reported on its own row and column.
    bad = [
        REGION_HEADER,
        ["T1", "甲镇", "镇", ""],
        ["T1", "甲镇重复", "镇", ""],
        ["V1", "乙村", "村", "T9"],
        ["T9", "后面的镇", "镇", ""],
        ["V2", "丙村", "村", ""],
        ["V3", "名" * 101, "村", "T1"],
        ["T2", "丁镇", "镇", "T1"],
        ["V4", "戊村", "村", "V3"],
        ["坏 代码", "己村", "村", "T1"],
        ["V5", "庚村", "村", "NOWHERE"],
    ]
    response = _upload(client, headers, "regions", _csv(bad), dry_run="false")
    assert response.status_code == 422
    errors = {(e["row"], e["column"]): e["message"]
              for e in _error(response)["details"]["errors"]}
    assert errors == {
        (3, "区域代码"): "与第 2 行的区域代码重复",
        (4, "上级代码"): "所属乡镇要写在本行之前",
        (6, "上级代码"): "村或社区必须填写所属乡镇的区域代码",
        (7, "名称"): "不能超过 100 个字",
        (8, "上级代码"): "乡镇不填写上级代码",
        (10, "区域代码"): "只能包含字母、数字、下划线和横线，长度 2-32 位",
        (11, "上级代码"): "本辖区没有区域代码为 NOWHERE 的乡镇",
    }  # row 9's parent V3 failed its own checks, so it is not reported twice
    assert _error(response)["message"] == "导入文件有 7 行错误，未导入任何数据"
    assert _count(Region, authority) == 0


def test_school_and_zone_rows_are_checked_against_the_catalogue(
    client: FlaskClient, session: Any, login_staff: Login
) -> None:
    authority, headers = _admin(client, login_staff)
    other = make_authority()
    make_school(other, code="FOREIGN-1")
    other_town = make_region(other, code="OT1")
    other_village = make_region(other, level=RegionLevel.VILLAGE, parent=other_town, code="OV1")
    town = make_region(authority, code="MT1")
    make_school(authority, code="MINE-1")
    response = _upload(client, headers, "schools", _csv([
        SCHOOL_HEADER,
        ["NEW-1", "新建小学", "公办", town.code, "", ""],
        ["FOREIGN-1", "抢注小学", "公办", "", "", ""],
        ["NEW-2", "外县乡镇小学", "公立", other_town.code, "地" * 201, "call me"],
        ["NEW-1", "重复小学", "民办", "", "", ""],
        ["", "", "", "", "", ""],  # blank rows are skipped, not errors
        ["NEW-3", "", "民办", "", "", ""],
    ]), dry_run="false")
    assert response.status_code == 422
    errors = [(e["row"], e["column"], e["message"])
              for e in _error(response)["details"]["errors"]]
    assert errors == [
        (3, "学校代码", "该学校代码已被其他教育局使用"),
        (4, "办学类型", "办学类型只能填写：公办、民办"),
        (4, "地址", "不能超过 200 个字"),
        (4, "咨询电话", "电话号码格式不正确"),
        (5, "学校代码", "与第 2 行的学校代码重复"),
        (7, "学校名称", "此项必填"),
    ]
    assert _count(School, authority) == 1
    assert db.session.scalar(select(School.name).where(School.code == "FOREIGN-1")) != "抢注小学"

    village = make_region(authority, level=RegionLevel.VILLAGE, parent=town, code="MV1")
    response = _upload(client, headers, "zones", _csv([
        ZONE_HEADER,
        ["MINE-1", village.code],
        ["FOREIGN-1", village.code],
        ["MINE-1", other_village.code],
        ["MINE-1", town.code],
        ["MINE-1", village.code],
    ]), dry_run="false")
    assert response.status_code == 422
    errors = [(e["row"], e["column"]) for e in _error(response)["details"]["errors"]]
    assert errors == [(3, "学校代码"), (4, "区域代码"), (5, "区域代码"), (6, "区域代码")]
    assert "与第 2 行重复" in _error(response)["details"]["errors"][-1]["message"]
    assert _zone_count(authority) == 0


def test_xlsx_and_gbk_csv_are_read_by_content_not_name(
    client: FlaskClient, session: Any, login_staff: Login
) -> None:
    authority, headers = _admin(client, login_staff)
    # Excel keeps numeric-looking codes as numbers; they come back as the digits typed.
    xlsx = _xlsx([["区域代码", "名称", "级别", "上级代码"],
                  [141124100, "临泉镇", "镇", None],
                  [141124100201, "东关村（示例）", "村", 141124100]])
    result = _apply(client, headers, "regions", xlsx, filename="regions.csv")
    assert (result["rows"], result["created"]) == (2, 2)
    gbk = _csv([SCHOOL_HEADER, ["GBK-1", "碛口示例小学", "公办", "141124100", "碛口镇", ""]],
               "gbk")
    assert _apply(client, headers, "schools", gbk, filename="schools.xlsx")["created"] == 1
    assert client.get("/api/v1/schools/GBK-1").get_json()["name"] == "碛口示例小学"
    zones = _xlsx([["school_code", "region_code"], ["GBK-1", "141124100201"]])
    assert _apply(client, headers, "zones", zones, filename="zones.txt")["created"] == 1
    assert _zone_count(authority) == 1


def test_values_are_trimmed_and_english_headers_accepted(
    client: FlaskClient, session: Any, login_staff: Login
) -> None:
    authority, headers = _admin(client, login_staff)
    content = (DATA / "regions_english_header.csv").read_bytes()
    assert _apply(client, headers, "regions", content)["created"] == 2
    region = db.session.scalar(select(Region).where(Region.code == "EN-T1"))
    assert region is not None and region.name == "英文表头镇"
    assert _count(Region, authority) == 2


@pytest.mark.parametrize(("content", "status", "code"), [
    (b"", 422, "IMPORT_BAD_HEADER"),
    (b"\r\n\r\n", 422, "IMPORT_BAD_HEADER"),
    (bytes(range(256)) * 40, 422, "IMPORT_UNREADABLE"),
    (b"\xef\xbb\xbf\xff\xfe broken", 422, "IMPORT_UNREADABLE"),
    ("区域代码,名称,级别,上级代码\nT1,镇\x00,镇,\n".encode(), 422, "IMPORT_UNREADABLE"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), 422, "IMPORT_UNREADABLE"),
    (b"PK\x03\x04 not really a zip", 422, "IMPORT_UNREADABLE"),
    ("区域代码,名称,级别,上级代码\r\n".encode(), 422, "IMPORT_NO_ROWS"),
    ("名称,级别,备注\r\n甲镇,镇,\r\n".encode(), 422, "IMPORT_BAD_HEADER"),
    (b'"unterminated\n' + b"x" * 200_000, 422, "IMPORT_UNREADABLE"),
], ids=["empty", "blank-lines", "garbage", "bad-utf8-after-bom", "nul-byte", "legacy-xls",
        "fake-zip", "header-only", "wrong-header", "huge-field"])
def test_broken_files_get_a_clear_answer(
    client: FlaskClient, session: Any, login_staff: Login,
    content: bytes, status: int, code: str,
) -> None:
    authority, headers = _admin(client, login_staff)
    response = _upload(client, headers, "regions", content, dry_run="false")
    assert response.status_code == status, response.get_json()
    assert _error(response)["code"] == code
    assert _count(Region, authority) == 0


def test_archives_that_are_not_workbooks_are_unreadable(
    client: FlaskClient, session: Any, login_staff: Login
) -> None:
    _authority, headers = _admin(client, login_staff)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    response = _upload(client, headers, "schools", buffer.getvalue(), filename="a.xlsx")
    assert response.status_code == 422
    assert _error(response)["code"] == "IMPORT_UNREADABLE"
    # A ZIP that would inflate far beyond any real sheet is refused before it is opened.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", b"\0" * (80 * 1024 * 1024))
    assert len(buffer.getvalue()) < 2 * 1024 * 1024
    response = _upload(client, headers, "schools", buffer.getvalue(), filename="b.xlsx")
    assert response.status_code == 413
    assert _error(response)["code"] == "IMPORT_TOO_LARGE"


def test_bad_header_names_the_missing_and_unknown_columns(
    client: FlaskClient, session: Any, login_staff: Login
) -> None:
    _authority, headers = _admin(client, login_staff)
    response = _upload(client, headers, "schools",
                       _csv([["学校代码", "学校名称", "备注"], ["A1", "甲", ""]]))
    assert response.status_code == 422
    error = _error(response)
    assert error["code"] == "IMPORT_BAD_HEADER"
    assert error["details"]["missing"] == ["办学类型", "所在乡镇代码", "地址", "咨询电话"]
    assert error["details"]["unknown"] == ["备注"]
    assert "办学类型" in error["message"] and "备注" in error["message"]


def test_size_and_row_limits(client: FlaskClient, session: Any, login_staff: Login) -> None:
    authority, headers = _admin(client, login_staff)
    limit = 2 * 1024 * 1024
    just_over = _csv(REGIONS) + b"\n" * (limit + 1 - len(_csv(REGIONS)))
    # 11 MiB is also over the whole app's MAX_CONTENT_LENGTH (10 MiB).
    for content in (just_over, b"x" * (3 * limit), b"x" * (11 * 1024 * 1024)):
        response = _upload(client, headers, "regions", content, dry_run="false")
        assert response.status_code == 413
        assert _error(response)["code"] == "IMPORT_TOO_LARGE"

    rows = [REGION_HEADER] + [[f"T{n}", f"镇{n}", "镇", ""] for n in range(5001)]
    response = _upload(client, headers, "regions", _csv(rows), dry_run="false")
    assert response.status_code == 422
    assert _error(response)["code"] == "IMPORT_TOO_MANY_ROWS"
    ok = _upload(client, headers, "regions", _csv(rows[:5001]))
    assert ok.status_code == 200 and ok.get_json()["created"] == 5000
    assert _count(Region, authority) == 0


def test_request_errors(client: FlaskClient, session: Any, login_staff: Login) -> None:
    _authority, headers = _admin(client, login_staff)
    unknown = _upload(client, headers, "students", _csv(REGIONS))
    assert unknown.status_code == 404
    assert client.get("/api/v1/admin/imports/templates/students",
                      headers=headers).status_code == 404
    missing = client.post("/api/v1/admin/imports/regions", headers=headers,
                          data={"dry_run": "true"}, content_type="multipart/form-data")
    assert missing.status_code == 422
    assert _error(missing)["code"] == "IMPORT_FILE_MISSING"
    not_a_bool = _upload(client, headers, "regions", _csv(REGIONS), dry_run="maybe")
    assert not_a_bool.status_code == 422
    assert _error(not_a_bool)["code"] == "VALIDATION_FAILED"


def test_only_bureau_admins_may_import(
    client: FlaskClient, session: Any, login_staff: Login,
    login_parent: Callable[..., dict[str, Any]],
) -> None:
    authority = make_authority()
    school = make_school(authority)
    staff = make_staff(authority, school=school)
    staff_token = login_staff(staff.username or "", STAFF_PASSWORD)["token"]
    parent_token = login_parent()["token"]
    for token in (staff_token, parent_token):
        response = _upload(client, bearer(token), "regions", _csv(REGIONS), dry_run="false")
        assert response.status_code == 403
        assert client.get("/api/v1/admin/imports/templates/regions",
                          headers=bearer(token)).status_code == 403
    assert _upload(client, {}, "regions", _csv(REGIONS)).status_code == 401
    assert client.get("/api/v1/admin/imports/templates/regions").status_code == 401
    assert _count(Region, authority) == 0


def test_templates_download_and_import_cleanly(
    client: FlaskClient, session: Any, login_staff: Login
) -> None:
    authority, headers = _admin(client, login_staff)
    templates = {}
    for kind in ("regions", "schools", "zones"):
        response = client.get(f"/api/v1/admin/imports/templates/{kind}", headers=headers)
        assert response.status_code == 200
        assert response.mimetype == "text/csv"
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert response.data.startswith(b"\xef\xbb\xbf")  # so Excel reads it as UTF-8
        templates[kind] = response.data
        assert len(response.data.decode("utf-8-sig").splitlines()) == 2

    assert _apply(client, headers, "regions", templates["regions"])["created"] == 1
    assert _apply(client, headers, "schools", templates["schools"])["created"] == 1
    # The zone sample names a village; add one under the sample town first.
    header, sample = templates["zones"].decode("utf-8-sig").splitlines()
    school_code, village_code = sample.split(",")
    town_code = templates["regions"].decode("utf-8-sig").splitlines()[1].split(",")[0]
    _apply(client, headers, "regions",
           _csv([REGION_HEADER, [village_code, "示例村", "村", town_code]]))
    assert _apply(client, headers, "zones", templates["zones"])["created"] == 1
    zone = client.get(f"/api/v1/schools/{school_code}").get_json()["zone"]
    assert [z["code"] for z in zone] == [village_code]
    assert header == "学校代码,区域代码"
    assert _count(School, authority) == 1
