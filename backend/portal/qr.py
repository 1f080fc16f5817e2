"""QR images: ordinary-link codes made locally, or mini-program codes from WeChat."""

from __future__ import annotations

import io

import qrcode
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M

from backend.wechat.client import wechat


def link_qr(data: str, box_size: int = 10, border: int = 4) -> Image.Image:
    """A black-on-white QR code of `data` (error correction M: survives a worn poster)."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=border)
    code.add_data(data)
    code.make(fit=True)
    return code.make_image(fill_color="black", back_color="white").get_image().convert("RGB")


def png_bytes(image: Image.Image) -> bytes:
    """The image as PNG bytes."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def wxacode(scene: str, page: str, width: int = 1280, env_version: str = "release",
            check_path: bool = True) -> Image.Image:
    """A mini-program code from getwxacodeunlimit (WeChat, or the simulator in tests)."""
    data = wechat.get_wxa_code(scene=scene, page=page, width=width, env_version=env_version,
                               check_path=check_path)
    return Image.open(io.BytesIO(data)).convert("RGB")
