"""Posters: the QR code decodes back to the school's link (or mini-program code), the Chinese
lines are drawn with real glyphs (not tofu), and the text comes from the database."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image, ImageChops, ImageDraw
from pypdf import PdfReader

from backend.config import DEFAULT_WECHAT_APPID
from backend.core.timeutil import local_datetime
from backend.portal import links, make_qr, posters
from backend.portal.fonts import font, missing_glyphs
from backend.schools.models import RegionLevel
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
BASE = "https://enroll.example.gov.cn"


def decode(image: Image.Image) -> list[str]:
    """The texts of every QR code in an image."""
    return [result.text for result in zxingcpp.read_barcodes(image)]


def assert_text_drawn(poster: posters.Poster) -> None:
    """Every line has ink, matches the same text drawn alone, and uses no missing glyph."""
    for block in poster.texts:
        face = font(block.size, block.bold)
        assert missing_glyphs(face, block.text) == [], block.text
        crop = poster.image.crop(block.box)
        assert ImageChops.difference(crop, Image.new("RGB", crop.size, block.background)) \
            .getbbox() is not None, f"no pixels for {block.text!r}"
        left, top = block.box[0], block.box[1]
        alone = Image.new("RGB", crop.size, block.background)
        ImageDraw.Draw(alone).text((block.origin[0] - left, block.origin[1] - top), block.text,
                                   font=face, fill=block.fill)
        assert ImageChops.difference(alone, crop).getbbox() is None, block.text


@pytest.fixture()
def lin_county(session: Any) -> dict[str, Any]:
    """A county with a season (registration 8/5 08:00 – 8/9 18:00) and one school."""
    authority = factories.make_authority(name="临县教育局", consultation_phone="0358-0000000")
    town = factories.make_region(authority, name="临泉镇")
    village = factories.make_region(authority, level=RegionLevel.VILLAGE, parent=town)
    season = factories.make_season(authority, year=2099,
                                   opens=local_datetime(2099, 8, 5, 8, 0),
                                   closes=local_datetime(2099, 8, 9, 18, 0))
    school = factories.make_school(authority, zone=[village], name="临泉镇第一小学（示例）",
                                   town_id=town.id,
                                   contacts=[{"name": "招生办", "phone": "0358-0001001"}])
    return {"authority": authority, "season": season, "school": school}


def test_a_school_poster_carries_its_link_and_the_two_lines(lin_county: dict[str, Any],
                                                            tmp_path: Path) -> None:
    school, season = lin_county["school"], lin_county["season"]
    spec = posters.school_spec(school, season, BASE, with_link=True)
    assert spec.heading == "临县义务教育入学服务平台"
    assert spec.scan_line == "微信扫一扫，进入临县义务教育入学服务平台"
    assert spec.window_line == "报名时间：2099年8月5日 08:00 至 8月9日 18:00"
    poster = posters.render(spec, posters.school_code_image(school, BASE, "link", "release"))
    assert poster.image.size == (2480, 3508)
    drawn = [block.text for block in poster.texts]
    assert {"临泉镇第一小学（示例）", spec.scan_line, spec.window_line,
            "咨询电话：0358-0001001"} <= set(drawn)
    assert_text_drawn(poster)

    png, pdf = poster.save(tmp_path / "poster")
    assert decode(Image.open(png)) == [f"{BASE}/mp/s/{school.code}"]
    # Scanned from a small print too (an A4 poster photographed from across a room).
    small = Image.open(png).resize((620, 877), Image.Resampling.LANCZOS)
    assert decode(small) == [f"{BASE}/mp/s/{school.code}"]
    page = PdfReader(pdf).pages[0]
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    assert (round(width), round(height)) == (595, 842)  # A4 in points


def test_another_county_gets_its_own_name(session: Any) -> None:
    authority = factories.make_authority(name="离石区教育局")
    school = factories.make_school(authority, name="离石区示例小学")
    spec = posters.school_spec(school, None, BASE, with_link=False)
    assert spec.heading == "离石区义务教育入学服务平台"
    assert spec.scan_line == "微信扫一扫，进入离石区义务教育入学服务平台"
    assert spec.window_line == "报名时间：以教育局公告为准"
    assert spec.link is None


def test_the_county_poster_for_the_portal(lin_county: dict[str, Any]) -> None:
    authority, season = lin_county["authority"], lin_county["season"]
    link = links.county_link(None, BASE)
    spec = posters.county_spec(authority, season, BASE, link)
    poster = posters.render(spec, posters.county_code_image(authority, None, BASE, "link",
                                                            "release"))
    assert decode(poster.image) == [f"{BASE}/mp/"]
    assert "咨询电话：0358-0000000" in [block.text for block in poster.texts]
    assert_text_drawn(poster)


def test_a_mini_program_code_from_wechat(lin_county: dict[str, Any], wechat_sim: Any) -> None:
    school = lin_county["school"]
    image = posters.school_code_image(school, BASE, "wxacode", "release")
    # The simulator draws its codes as QR codes of the page and scene it was asked for.
    assert decode(image) == [f"wxacode:pages/home/home?scene=s={school.code}"]
    calls = wechat_sim.get("/sim/calls", endpoint="getwxacodeunlimit")["calls"]
    assert len(calls) == 1


def test_wechat_refusing_a_code_is_an_error_not_a_blank_poster(session: Any) -> None:
    from backend.portal import qr
    from backend.wechat.client import WeChatError

    with pytest.raises(WeChatError) as raised:
        qr.wxacode("s=" + "x" * 40, links.MINIPROGRAM_PAGE)  # scene over 32 characters
    assert raised.value.errcode == 40169


def test_a_character_the_font_lacks_is_refused_not_printed_as_tofu(
    lin_county: dict[str, Any]
) -> None:
    # U+13000 (an Egyptian hieroglyph) is in no CJK font: it would print as an empty box.
    assert missing_glyphs(font(60), "临县\U00013000") == ["\U00013000"]
    spec = posters.school_spec(lin_county["school"], None, BASE, with_link=False)
    spec = posters.PosterSpec(**{**spec.__dict__, "title": "学校\U00013000"})
    with pytest.raises(posters.TofuError):
        posters.render(spec, Image.new("RGB", (100, 100), "white"))


def test_make_posters_for_chosen_schools_and_the_county(
    lin_county: dict[str, Any], tmp_path: Path, app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    authority, school = lin_county["authority"], lin_county["school"]
    monkeypatch.setitem(app.config, "DEFAULT_AUTHORITY", authority.code)
    args = make_qr._parser().parse_args([
        "--authority", authority.code, "--school", school.code, "--county", "--kind", "link",
        "--base-url", BASE, "--format", "png", "--out", str(tmp_path)])
    written = make_qr.make_posters(args)
    assert sorted(p.name for p in written) == sorted(
        [f"{authority.code}-{school.code}.png", f"{authority.code}-county.png"])
    county_png = tmp_path / f"{authority.code}-county.png"
    assert decode(Image.open(county_png)) == [f"{BASE}/mp/"]
    # In a deployment whose default is another county, the link names this one.
    monkeypatch.setitem(app.config, "DEFAULT_AUTHORITY", factories.make_authority().code)
    args.school = []
    make_qr.make_posters(args)
    assert decode(Image.open(county_png)) == [f"{BASE}/mp/a/{authority.code}"]
    args.school = ["NOPE"]
    with pytest.raises(SystemExit, match="unknown school code"):
        make_qr.make_posters(args)


def test_make_qr_chooses_mini_program_codes_only_with_real_credentials() -> None:
    assert make_qr._kind("auto", DEFAULT_WECHAT_APPID) == "link"
    assert make_qr._kind("auto", "wx1234567890abcdef") == "wxacode"
    assert make_qr._kind("link", "wx1234567890abcdef") == "link"


# A database with one county, its season and one school (no demo accounts: no password hashing).
SEED_ONE_SCHOOL = """
import os
from backend import create_app
from backend.authorities.models import EducationAuthority
from backend.core.db import db
from backend.core.timeutil import local_datetime
from backend.migrations.runner import upgrade
from backend.schools.models import School, SchoolType
from backend.seasons.models import Season, SeasonStatus
import datetime as dt

upgrade(os.environ["DATABASE_URL"])
with create_app().app_context():
    county = EducationAuthority(code="linxian", name="临县教育局", division_code="141124")
    db.session.add(county)
    db.session.flush()
    db.session.add(Season(authority_id=county.id, year=2099, name="2099年小学招生",
                          age_cutoff=dt.date(2093, 8, 31), status=SeasonStatus.PUBLISHED,
                          registration_opens_at=local_datetime(2099, 8, 5, 8),
                          registration_closes_at=local_datetime(2099, 8, 9, 18)))
    db.session.add(School(authority_id=county.id, code="LX003", name="临泉镇民办小学（示例）",
                          type=SchoolType.PRIVATE))
    db.session.commit()
"""


@pytest.mark.slow  # runs scripts/make_qr in its own processes: ~8 s
def test_scripts_make_qr_end_to_end(tmp_path: Path, redis_url: str) -> None:
    database = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    prefix = f"make-qr-{uuid.uuid4().hex[:8]}:"
    env = dict(os.environ, DATABASE_URL=database, REDIS_URL=redis_url, REDIS_KEY_PREFIX=prefix,
               PUBLIC_BASE_URL=BASE, APP_ENV="development", LOG_LEVEL="WARNING",
               UPLOAD_DIR=str(tmp_path / "uploads"))
    subprocess.run([sys.executable, "-c", SEED_ONE_SCHOOL], cwd=ROOT, env=env,  # noqa: S603
                   check=True,
                   capture_output=True, timeout=300)
    out = tmp_path / "posters"
    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "backend.portal.make_qr", "--school", "LX003", "--county",
         "--out", str(out)], cwd=ROOT, env=env, capture_output=True, timeout=300, text=True)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "linxian-LX003.pdf", "linxian-LX003.png", "linxian-county.pdf", "linxian-county.png"]
    assert decode(Image.open(out / "linxian-LX003.png")) == [f"{BASE}/mp/s/LX003"]
    assert decode(Image.open(out / "linxian-county.png")) == [f"{BASE}/mp/"]
    assert "LX003 临泉镇民办小学（示例）: https://enroll.example.gov.cn/mp/s/LX003" in result.stdout
    assert f"wrote {out / 'linxian-county.pdf'}" in result.stdout

    import redis

    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


def test_a_printed_link_fits_a_mini_program_scene() -> None:
    assert links.school_scene("LX001") == "s=LX001"
    assert len(links.school_scene("A" * 30)) == 32
    assert links.school_link("LX 1", BASE) == f"{BASE}/mp/s/LX%201"
    assert links.county_link("lvliang", BASE + "/") == f"{BASE}/mp/a/lvliang"
