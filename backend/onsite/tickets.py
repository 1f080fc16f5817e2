"""Entry tickets: short HMAC-signed codes, bound to a booking's registration, school and slot.

A code reads `T1-<booking id>-<nonce>-<signature>`, e.g. `T1-42-ABCDEFGH-ABCDEFGHIJKLMNOP`:
short enough to type when the scanner fails, and only letters, digits and hyphens, so a USB
scanner in keyboard mode types it unchanged. The signature is HMAC-SHA256 over the booking
id, its registration, the school of the offer, the slot and the booking's nonce, with a key
derived from SECRET_KEY, truncated to 80 bits (base32): a guess is checked by the server,
one at a time, so 80 bits are far beyond reach. Codes are not stored: the ticket page
derives the code again from the booking. Moving to another slot draws a new nonce, so the
older code no longer verifies; checking in makes the booking used (single use).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import os
import re
from dataclasses import dataclass

import qrcode
from flask import current_app
from qrcode.constants import ERROR_CORRECT_M

VERSION = "T1"
_CODE = re.compile(r"T1-([1-9][0-9]{0,8})-([A-Z2-7]{8})-([A-Z2-7]{16})")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class TicketCode:
    """The parts of a well-formed code (not yet verified)."""

    booking_id: int
    nonce: str
    signature: str


def new_nonce() -> str:
    """8 random base32 characters (40 bits): a fresh ticket for a booking."""
    return base64.b32encode(os.urandom(5)).decode()


def _key() -> bytes:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    # A key of its own: a ticket signature is never valid as anything else the secret signs.
    return hmac.new(secret, b"onsite-entry-ticket", hashlib.sha256).digest()


def signature(booking_id: int, registration_id: int, school_id: int, slot_id: int,
              nonce: str) -> str:
    """16 base32 characters of HMAC-SHA256 over what the ticket is bound to."""
    message = f"{VERSION}|{booking_id}|{registration_id}|{school_id}|{slot_id}|{nonce}"
    digest = hmac.new(_key(), message.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:10]).decode()


def ticket_code(booking_id: int, registration_id: int, school_id: int, slot_id: int,
                nonce: str) -> str:
    """The code a booking's ticket shows."""
    sig = signature(booking_id, registration_id, school_id, slot_id, nonce)
    return f"{VERSION}-{booking_id}-{nonce}-{sig}"


def parse(text: str) -> TicketCode | None:
    """A typed or scanned code, forgiving case and spaces; None if it cannot be one."""
    cleaned = _SPACES.sub("", text).upper()
    match = _CODE.fullmatch(cleaned)
    if match is None:
        return None
    return TicketCode(int(match.group(1)), match.group(2), match.group(3))


def verify(code: TicketCode, *, registration_id: int, school_id: int, slot_id: int,
           nonce: str) -> bool:
    """Whether the code was issued for exactly this booking state (constant-time compare)."""
    expected = signature(code.booking_id, registration_id, school_id, slot_id, nonce)
    return hmac.compare_digest(expected, code.signature) and hmac.compare_digest(
        nonce, code.nonce)


def qr_png(code: str) -> bytes:
    """The code as a PNG QR image (medium error correction, readable from a phone screen)."""
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=8, border=2)
    qr.add_data(code)
    qr.make(fit=True)
    out = io.BytesIO()
    qr.make_image().save(out)
    return out.getvalue()
