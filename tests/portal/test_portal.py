"""The PC entry page `GET /`: announcements, timeline, schools and zones, live counts, and the
county QR code that opens the mini-program; checked through Flask and in headless Chromium."""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from backend.announcements.models import Announcement, AnnouncementCategory, AnnouncementStatus
from backend.core.db import db, utcnow
from backend.core.timeutil import local_datetime
from backend.schools.models import RegionLevel, SchoolType
from tests import factories
from tests.portal import _support


def decode(png: bytes) -> list[str]:
    """The texts of every QR code in a PNG."""
    return [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


@pytest.fixture()
def county(session: Any, app: Flask, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """An authority (the deployment's default) with a season, two schools and zones."""
    authority = factories.make_authority(name="示例县教育局", consultation_phone="0358-0000000")
    monkeypatch.setitem(app.config, "DEFAULT_AUTHORITY", authority.code)
    town = factories.make_region(authority, name="示例镇")
    villages = [factories.make_region(authority, level=RegionLevel.VILLAGE, parent=town,
                                      name=f"示例{n}村") for n in ("一", "二")]
    now = utcnow()
    season = factories.make_season(authority, year=now.year + 1,
                                   opens=now - dt.timedelta(days=1),
                                   closes=now + dt.timedelta(days=3))
    public = factories.make_school(authority, zone=villages[:1], name="示例镇第一小学",
                                   town_id=town.id,
                                   contacts=[{"name": "招生办", "phone": "0358-0001001"}],
                                   required_materials={"hukou": ["户口簿"]},
                                   implementation_plan="一、免试就近入学。")
    private = factories.make_school(authority, zone=villages, name="示例镇民办小学",
                                    town_id=town.id, type=SchoolType.PRIVATE)
    factories.make_seat_plan(season, public, classes=2, class_size=40)
    admin = factories.make_staff(authority)
    db.session.add(Announcement(
        authority_id=authority.id, school_id=None, category=AnnouncementCategory.POLICY,
        title="示例县小学招生工作方案", body="免试就近入学。", status=AnnouncementStatus.PUBLISHED,
        publish_at=now - dt.timedelta(hours=1), created_by_user_id=admin.id))
    db.session.flush()
    return {"authority": authority, "season": season, "public": public, "private": private}


def test_the_entry_page_shows_season_timeline_announcements_schools_and_the_qr(
    client: FlaskClient, county: dict[str, Any]
) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "<title>示例县义务教育入学服务平台</title>" in html
    assert "微信扫一扫，进入示例县义务教育入学服务平台" in html
    assert "报名先后不影响录取" in html
    assert "报名进行中，距截止还有" in html
    assert re.search(r'class="phase phase-current">\s*<span class="phase-name">平台报名', html)
    assert "示例县小学招生工作方案" in html
    assert 'id="county-qr" src="/portal/qr/county.png"' in html
    rows = re.findall(r'<tr class="school" data-school="([^"]+)"', html)
    assert rows == [county["public"].code, county["private"].code]
    assert "示例一村" in html and "80 人" in html and "民办" in html
    assert "0358-0000000" in html
    # Nothing is loaded from another site.
    assert not re.search(r'(src|href)="(https?:)?//', html)


def test_the_county_qr_opens_the_mini_program_and_the_same_link_opens_this_page(
    client: FlaskClient, county: dict[str, Any], app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://enroll.example.gov.cn/")
    png = client.get("/portal/qr/county.png")
    assert png.mimetype == "image/png"
    assert png.headers["Cache-Control"] == "public, max-age=3600"
    assert decode(png.data) == ["https://enroll.example.gov.cn/mp/"]
    assert client.get("/mp/").headers["Location"] == "/"


def test_another_county_gets_its_own_link(client: FlaskClient, county: dict[str, Any]) -> None:
    other = factories.make_authority(name="另一县教育局")
    html = client.get(f"/?authority={other.code}").get_data(as_text=True)
    assert "另一县义务教育入学服务平台" in html
    assert f"/portal/qr/county.png?authority={other.code}" in html
    png = client.get(f"/portal/qr/county.png?authority={other.code}").data
    assert decode(png) == [f"http://localhost/mp/a/{other.code}"]
    redirect = client.get(f"/mp/a/{other.code}")
    assert redirect.headers["Location"] == f"/?authority={other.code}"
    assert client.get("/?authority=nowhere").status_code == 404


def test_a_school_poster_link_opens_the_school_in_a_browser(
    client: FlaskClient, county: dict[str, Any]
) -> None:
    school = county["public"]
    response = client.get(f"/mp/s/{school.code}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<h1 id="school-name">示例镇第一小学</h1>' in html
    assert "2 个班 × 每班 40 人，共 80 个学位" in html
    assert "按户籍报名" in html and "户口簿" in html and "0358-0001001" in html
    assert decode(client.get(f"/portal/qr/s/{school.code}.png").data) == [
        f"http://localhost/mp/s/{school.code}"]


def test_unknown_codes_get_a_friendly_page(client: FlaskClient, county: dict[str, Any]) -> None:
    response = client.get("/mp/s/NO-SUCH")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "没有找到这所学校" in response.get_data(as_text=True)
    assert client.get("/portal/qr/s/bad%20code.png").status_code == 404
    assert client.get("/portal/announcements/999999").status_code == 404


def test_an_announcement_opens_as_a_page(client: FlaskClient, county: dict[str, Any]) -> None:
    html = client.get("/").get_data(as_text=True)
    link = re.search(r'href="(/portal/announcements/\d+)"', html)
    assert link is not None
    page = client.get(link.group(1)).get_data(as_text=True)
    assert "示例县小学招生工作方案" in page and "招生政策" in page


def test_no_season_is_said_plainly(client: FlaskClient, session: Any, app: Flask,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    authority = factories.make_authority(name="空白县教育局")
    monkeypatch.setitem(app.config, "DEFAULT_AUTHORITY", authority.code)
    html = client.get("/").get_data(as_text=True)
    assert "暂无招生季" in html and "报名时间：以教育局公告为准" in html


def test_the_window_is_shown_in_local_time(client: FlaskClient, session: Any, app: Flask,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    authority = factories.make_authority(name="临县教育局")
    monkeypatch.setitem(app.config, "DEFAULT_AUTHORITY", authority.code)
    year = utcnow().year + 1
    factories.make_season(authority, year=year, opens=local_datetime(year, 8, 5, 8, 0),
                          closes=local_datetime(year, 8, 9, 18, 0))
    html = client.get("/").get_data(as_text=True)
    assert f"报名时间：{year}年8月5日 08:00 至 8月9日 18:00" in html
    assert "距报名开始还有" in html


# --- headless Chromium -----------------------------------------------------------------


@pytest.fixture(scope="module")
def portal_url(redis_url: str) -> Iterator[str]:
    """The portal with Lin County's demo data, served by its own process."""
    prefix = f"portal-{uuid.uuid4().hex[:8]}:"
    with _support.portal_server(redis_url, prefix) as url:
        yield url
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.mark.slow  # headless Chromium against a portal process with the demo data
def test_chromium_finds_the_school_list_counts_and_qr(portal_url: str) -> None:
    dom = _support.chromium(portal_url, "--dump-dom")
    schools = re.findall(r'<tr class="school" data-school="(LX\d+)"', dom)
    assert schools == [f"LX{n:03d}" for n in range(1, 11)]
    assert "临泉镇第一小学（示例）" in dom and "碛口镇中心小学（示例）" in dom
    assert re.search(r'<img id="county-qr" src="/portal/qr/county.png"', dom)
    # The page's script filled in the live counts from /api/v1/stats/public.
    stats = requests.get(f"{portal_url}api/v1/stats/public", timeout=10).json()
    expected = {s["code"]: s["active"] for s in stats["seasons"][0]["schools"]}
    counts = re.findall(r'<tr class="school" data-school="(LX\d+)">.*?data-active="(\d+)"',
                        dom, flags=re.S)
    assert {code: int(active) for code, active in counts} == expected
    assert sum(expected.values()) > 0  # the demo families' registrations


@pytest.mark.slow  # headless Chromium
def test_chromium_shows_a_qr_code_that_scans(portal_url: str, artifacts_dir: Path) -> None:
    screenshot = artifacts_dir / "pc-portal.png"
    _support.chromium(portal_url, f"--screenshot={screenshot}", height=2700)
    image = Image.open(screenshot)
    assert image.size == (1280, 2700)
    texts = [r.text for r in zxingcpp.read_barcodes(image)]
    assert texts == [f"{_support.PUBLIC_BASE_URL}/mp/"]


@pytest.mark.slow  # headless Chromium
def test_chromium_opens_a_school_link(portal_url: str, artifacts_dir: Path) -> None:
    screenshot = artifacts_dir / "pc-school.png"
    dom = _support.chromium(f"{portal_url}mp/s/LX001", "--dump-dom")
    assert '<h1 id="school-name">临泉镇第一小学（示例）</h1>' in dom
    _support.chromium(f"{portal_url}mp/s/LX001", f"--screenshot={screenshot}", height=1400)
    texts = [r.text for r in zxingcpp.read_barcodes(Image.open(screenshot))]
    assert texts == [f"{_support.PUBLIC_BASE_URL}/mp/s/LX001"]
