"""A CJK font for posters. Debian's fonts-noto-cjk (SIL OFL 1.1) is installed by scripts/test
and scripts/make_qr when missing; POSTER_FONT names another .ttf/.ttc/.otf."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from PIL import Image as PILImage
from PIL import ImageChops, ImageDraw, ImageFont

# (path, face index of the Simplified Chinese face in a collection)
CANDIDATES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
)
BOLD_CANDIDATES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2),
)


class FontMissing(RuntimeError):
    """No font that draws Chinese is installed."""


def _find(candidates: tuple[tuple[str, int], ...]) -> tuple[str, int] | None:
    configured = os.environ.get("POSTER_FONT", "")
    if configured and Path(configured).is_file():
        return configured, int(os.environ.get("POSTER_FONT_INDEX", "0"))
    for path, index in candidates:
        if Path(path).is_file():
            return path, index
    return None


@cache
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """The CJK font at `size` pixels (bold when a bold face is installed)."""
    found = (_find(BOLD_CANDIDATES) if bold else None) or _find(CANDIDATES)
    if found is None:
        raise FontMissing(
            "no CJK font found: apt-get install fonts-noto-cjk (scripts/make_qr does this), "
            "or set POSTER_FONT to a .ttf/.ttc/.otf file that has Chinese glyphs")
    path, index = found
    return ImageFont.truetype(path, size=size, index=index)


def _glyph(face: ImageFont.FreeTypeFont, char: str) -> PILImage.Image:
    size = int(face.size * 1.5)
    image = PILImage.new("L", (size, size), 0)
    ImageDraw.Draw(image).text((0, 0), char, font=face, fill=255)
    return image


def missing_glyphs(face: ImageFont.FreeTypeFont, text: str) -> list[str]:
    """Characters the font would draw as its "missing" box (tofu)."""
    # U+10FFFF is never in a font: whatever the font draws for it is its .notdef box.
    notdef = _glyph(face, "\U0010ffff")
    return [char for char in dict.fromkeys(text) if not char.isspace()
            and ImageChops.difference(_glyph(face, char), notdef).getbbox() is None]
