"""Printable A4 posters: a school's (or the county's) QR code and the two lines a parent needs."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw

from backend.authorities.models import EducationAuthority
from backend.core.errors import ApiError
from backend.core.timeutil import zone
from backend.portal import links, qr
from backend.portal.fonts import font, missing_glyphs
from backend.schools.models import School, SchoolType
from backend.seasons.models import Season
from backend.seasons.services import current_season

logger = logging.getLogger(__name__)

# A4 at 300 dpi.
DPI = 300
WIDTH, HEIGHT = 2480, 3508
MARGIN = 170
BLUE = (11, 79, 168)
DARK_BLUE = (11, 61, 130)
INK = (17, 17, 17)
GREY = (51, 51, 51)
PALE = (238, 243, 251)
WHITE = (255, 255, 255)
QR_SIZE = 1460

# Suffixes of a bureau's name; what is left is the area ("临县教育局" → "临县").
_BUREAU_SUFFIXES = ("教育和体育局", "教育体育局", "教育科技局", "教育局")


class TofuError(RuntimeError):
    """The font has no glyph for some characters: the poster would print empty boxes."""


def area_name(authority: EducationAuthority) -> str:
    """The county or district an authority serves, from its name."""
    for suffix in _BUREAU_SUFFIXES:
        if authority.name.endswith(suffix) and len(authority.name) > len(suffix):
            return authority.name[: -len(suffix)]
    return authority.name


def platform_name(authority: EducationAuthority) -> str:
    """The platform's name as families read it, e.g. 临县义务教育入学服务平台."""
    return f"{area_name(authority)}义务教育入学服务平台"


def scan_line(authority: EducationAuthority) -> str:
    """The first line under the code."""
    return f"微信扫一扫，进入{platform_name(authority)}"


def _local(value: dt.datetime, tz: str) -> dt.datetime:
    return value.astimezone(zone(tz))


def window_line(season: Season | None, tz: str) -> str:
    """The registration window in local time, e.g. 报名时间：2024年8月5日 08:00 至 8月9日 18:00."""
    if season is None:
        return "报名时间：以教育局公告为准"
    opens = _local(season.registration_opens_at, tz)
    closes = _local(season.registration_closes_at, tz)
    start = f"{opens.year}年{opens.month}月{opens.day}日 {opens:%H:%M}"
    end_date = f"{closes.month}月{closes.day}日" if closes.year == opens.year \
        else f"{closes.year}年{closes.month}月{closes.day}日"
    return f"报名时间：{start} 至 {end_date} {closes:%H:%M}"


def season_of(authority: EducationAuthority) -> Season | None:
    """The season families should see now (None when the authority has none)."""
    try:
        return current_season(authority.id)
    except ApiError:
        return None


@dataclass(frozen=True)
class PosterSpec:
    """What one poster says."""

    heading: str
    title: str
    subtitle: str
    scan_line: str
    window_line: str
    notes: tuple[str, ...]
    footer: str
    link: str | None = None
    sample: bool = False


@dataclass(frozen=True)
class TextBlock:
    """A line of text as drawn: where, how big, which face (for checking the pixels)."""

    text: str
    box: tuple[int, int, int, int]
    origin: tuple[int, int]
    size: int
    bold: bool
    fill: tuple[int, int, int]
    background: tuple[int, int, int]


@dataclass
class Poster:
    """The rendered poster and where its parts are."""

    image: Image.Image
    title: str
    qr_box: tuple[int, int, int, int]
    texts: list[TextBlock] = field(default_factory=list)

    def save(self, stem: Path, formats: tuple[str, ...] = ("png", "pdf")) -> list[Path]:
        """Write `<stem>.png` and/or `<stem>.pdf` (A4, 300 dpi); return the paths."""
        stem.parent.mkdir(parents=True, exist_ok=True)
        written = []
        if "png" in formats:
            path = stem.with_suffix(".png")
            self.image.save(path, format="PNG", dpi=(DPI, DPI), optimize=True)
            written.append(path)
        if "pdf" in formats:
            path = stem.with_suffix(".pdf")
            self.image.save(path, format="PDF", resolution=float(DPI), title=self.title)
            written.append(path)
        return written


class _Canvas:
    def __init__(self) -> None:
        self.image = Image.new("RGB", (WIDTH, HEIGHT), WHITE)
        self.draw = ImageDraw.Draw(self.image)
        self.texts: list[TextBlock] = []

    def fitted(self, text: str, size: int, bold: bool, max_width: int,
               min_size: int) -> int:
        while size > min_size and self.draw.textlength(text, font=font(size, bold)) > max_width:
            size -= 4
        return size

    def centered(self, text: str, top: int, size: int, *, bold: bool = False,
                 fill: tuple[int, int, int] = INK, background: tuple[int, int, int] = WHITE,
                 min_size: int | None = None) -> int:
        """Draw one centred line (shrunk to fit the width); return the next line's top."""
        size = self.fitted(text, size, bold, WIDTH - 2 * MARGIN, min_size or size * 2 // 3)
        face = font(size, bold)
        missing = missing_glyphs(face, text)
        if missing:
            raise TofuError(f"the poster font has no glyph for {''.join(missing)!r}")
        width = self.draw.textlength(text, font=face)
        origin = (int((WIDTH - width) / 2), top)
        self.draw.text(origin, text, font=face, fill=fill)
        left, top_, right, bottom = self.draw.textbbox(origin, text, font=face)
        box = (int(left), int(top_), int(right), int(bottom))
        self.texts.append(TextBlock(text, box, origin, size, bold, fill, background))
        return top + int(size * 1.45)


def _wrap_title(canvas: _Canvas, title: str, size: int) -> list[str]:
    """One line if it fits at a readable size, else two balanced lines."""
    max_width = WIDTH - 2 * MARGIN
    if canvas.draw.textlength(title, font=font(size * 3 // 4, True)) <= max_width:
        return [title]
    cut = (len(title) + 1) // 2
    return [title[:cut], title[cut:]]


def render(spec: PosterSpec, code_image: Image.Image) -> Poster:
    """Lay the poster out on an A4 page."""
    canvas = _Canvas()
    draw = canvas.draw
    draw.rectangle((0, 0, WIDTH, 430), fill=BLUE)
    canvas.centered(spec.heading, 110, 124, bold=True, fill=WHITE, background=BLUE)
    canvas.centered(spec.footer, 290, 64, fill=WHITE, background=BLUE)

    top = 560
    for line in _wrap_title(canvas, spec.title, 150):
        top = canvas.centered(line, top, 150, bold=True, fill=INK)
    top = canvas.centered(spec.subtitle, top + 10, 70, fill=GREY)

    qr_top = top + 110
    left = (WIDTH - QR_SIZE) // 2
    frame = 18
    draw.rounded_rectangle((left - 60, qr_top - 60, left + QR_SIZE + 60, qr_top + QR_SIZE + 60),
                           radius=40, outline=BLUE, width=frame)
    code = code_image.resize((QR_SIZE, QR_SIZE), Image.Resampling.NEAREST)
    canvas.image.paste(code, (left, qr_top))
    qr_box = (left, qr_top, left + QR_SIZE, qr_top + QR_SIZE)

    top = qr_top + QR_SIZE + 110
    if spec.link:
        top = canvas.centered(spec.link, top - 20, 46, fill=GREY) + 10
    top = canvas.centered(spec.scan_line, top, 96, bold=True, fill=INK, min_size=60)
    top = canvas.centered(spec.window_line, top, 84, bold=True, fill=DARK_BLUE, min_size=56)
    for note in spec.notes:
        top = canvas.centered(note, top + 4, 60, fill=GREY, min_size=44)

    draw.rectangle((0, HEIGHT - 190, WIDTH, HEIGHT), fill=PALE)
    footer = f"{spec.footer}{'（示例数据，仅供演示）' if spec.sample else ''}"
    canvas.centered(footer, HEIGHT - 140, 56, fill=GREY, background=PALE)
    return Poster(image=canvas.image, title=spec.title, qr_box=qr_box, texts=canvas.texts)


def school_spec(school: School, season: Season | None, base_url: str,
                with_link: bool) -> PosterSpec:
    """A school's poster: its name, the scan line and the registration window."""
    authority = school.authority
    kind = "民办学校" if school.type is SchoolType.PRIVATE else "公办学校"
    town = school.town.name if school.town else ""
    phones = [str(c.get("phone")) for c in school.contacts or [] if c.get("phone")]
    notes = ["免试就近入学 · 报名先后不影响录取"]
    if phones:
        notes.append(f"咨询电话：{phones[0]}")
    return PosterSpec(
        heading=platform_name(authority), title=school.name,
        subtitle=" · ".join(part for part in (town, kind) if part),
        scan_line=scan_line(authority), window_line=window_line(season, authority.timezone),
        notes=tuple(notes), footer=authority.name,
        link=links.school_link(school.code, base_url) if with_link else None,
        sample=school.is_sample,
    )


def county_spec(authority: EducationAuthority, season: Season | None, base_url: str,
                link: str | None) -> PosterSpec:
    """The county poster for the portal: the platform, the steps, the window."""
    notes = ["实名登记 → 添加孩子 → 选择学校 → 上传材料 → 提交报名",
             "免试就近入学 · 报名先后不影响录取"]
    if authority.consultation_phone:
        notes.append(f"咨询电话：{authority.consultation_phone}")
    return PosterSpec(
        heading=platform_name(authority), title="适龄儿童入学网上报名",
        subtitle=season.name if season else "义务教育阶段招生",
        scan_line=scan_line(authority), window_line=window_line(season, authority.timezone),
        notes=tuple(notes), footer=authority.name, link=link, sample=authority.is_sample,
    )


def school_code_image(school: School, base_url: str, kind: str, env_version: str) -> Image.Image:
    """The school's code: an ordinary link (`link`) or a mini-program code (`wxacode`)."""
    if kind == "wxacode":
        return qr.wxacode(links.school_scene(school.code), links.MINIPROGRAM_PAGE,
                          env_version=env_version, check_path=env_version == "release")
    return qr.link_qr(links.school_link(school.code, base_url))


def county_code_image(authority: EducationAuthority, authority_param: str | None, base_url: str,
                      kind: str, env_version: str) -> Image.Image:
    """The county's code: the link `/mp/` (or `/mp/a/<code>`), or a mini-program code."""
    if kind == "wxacode":
        scene = links.authority_scene(authority.code)
        return qr.wxacode(scene, links.MINIPROGRAM_PAGE, env_version=env_version,
                          check_path=env_version == "release")
    return qr.link_qr(links.county_link(authority_param, base_url))
