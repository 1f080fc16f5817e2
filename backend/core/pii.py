"""Personal data at rest: AES-GCM encryption with key ids, keyed blind indexes, masking.

ID numbers and phone numbers are never stored in plaintext. Uniqueness and look-ups use
an HMAC "blind index" with its own key, so rotating the encryption key never changes them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Flask

from backend.config import ConfigError

_FORMAT = "v1"


class DecryptionError(Exception):
    """Ciphertext was tampered with, belongs to another field, or its key is unknown."""


def _decode_key(name: str, value: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{name} must be base64 (32 bytes)") from exc
    if len(key) != 32:
        raise ConfigError(f"{name} must decode to 32 bytes, got {len(key)}")
    return key


def generate_key() -> str:
    """A new random 32-byte key, base64url (for PII_ENCRYPTION_KEY / PII_INDEX_KEY)."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


@dataclass
class PiiCipher:
    """Encrypts with the active key; decrypts with any known key id."""

    active_key_id: str
    keys: dict[str, bytes]
    index_key: bytes

    def encrypt(self, value: str, purpose: str) -> str:
        """Encrypt `value`; `purpose` (e.g. "child.id_number") binds it to its column."""
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[self.active_key_id]).encrypt(
            nonce, value.encode(), purpose.encode()
        )
        token = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{_FORMAT}:{self.active_key_id}:{token}"

    def decrypt(self, token: str, purpose: str) -> str:
        """Decrypt a value produced by encrypt() for the same purpose."""
        try:
            version, key_id, body = token.split(":", 2)
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            if version != _FORMAT or key_id not in self.keys:
                raise DecryptionError("unknown format or key id")
            return AESGCM(self.keys[key_id]).decrypt(raw[:12], raw[12:], purpose.encode()).decode()
        except (ValueError, InvalidTag) as exc:
            raise DecryptionError("cannot decrypt") from exc

    def key_id_of(self, token: str) -> str:
        """The id of the key a value was encrypted with (for rotation)."""
        return token.split(":", 2)[1]

    def blind_index(self, value: str, purpose: str) -> str:
        """A keyed hash for equality look-ups and unique constraints (not reversible)."""
        message = purpose.encode() + b"\x00" + value.encode()
        return hmac.new(self.index_key, message, hashlib.sha256).hexdigest()

    def encrypt_bytes(self, data: bytes, purpose: str) -> bytes:
        """Encrypt a file's bytes: key id line, then nonce + ciphertext."""
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[self.active_key_id]).encrypt(nonce, data, purpose.encode())
        return self.active_key_id.encode() + b"\n" + nonce + sealed

    def decrypt_bytes(self, blob: bytes, purpose: str) -> bytes:
        """Decrypt what encrypt_bytes() produced for the same purpose."""
        key_id, _, rest = blob.partition(b"\n")
        key = self.keys.get(key_id.decode(errors="replace"))
        if key is None or len(rest) < 13:
            raise DecryptionError("unknown key id or truncated file")
        try:
            return AESGCM(key).decrypt(rest[:12], rest[12:], purpose.encode())
        except InvalidTag as exc:
            raise DecryptionError("cannot decrypt") from exc


def cipher_from_config(config: Mapping[str, Any]) -> PiiCipher:
    """Build the cipher from PII_* settings; development derives keys from SECRET_KEY."""
    key_id = str(config.get("PII_KEY_ID") or "k1")
    secret = str(config["SECRET_KEY"]).encode()
    if config.get("PII_ENCRYPTION_KEY"):
        active = _decode_key("PII_ENCRYPTION_KEY", str(config["PII_ENCRYPTION_KEY"]))
    else:
        # Development only: production refuses to start without PII_ENCRYPTION_KEY.
        active = hashlib.sha256(b"pii-encryption:" + secret).digest()
    if config.get("PII_INDEX_KEY"):
        index_key = _decode_key("PII_INDEX_KEY", str(config["PII_INDEX_KEY"]))
    else:
        index_key = hashlib.sha256(b"pii-index:" + secret).digest()
    keys = {key_id: active}
    # Older keys, "id:key,id:key", still decrypt what they encrypted until re-encrypted.
    for entry in str(config.get("PII_OLD_KEYS") or "").split(","):
        if entry.strip():
            old_id, _, old_key = entry.strip().partition(":")
            keys[old_id] = _decode_key(f"PII_OLD_KEYS[{old_id}]", old_key)
    return PiiCipher(active_key_id=key_id, keys=keys, index_key=index_key)


class _PiiExtension:
    """Holds the app's cipher (one per process)."""

    cipher: PiiCipher | None = None

    def init_app(self, app: Flask) -> None:
        self.cipher = cipher_from_config(app.config)
        app.extensions["pii"] = self.cipher


_extension = _PiiExtension()
init_app = _extension.init_app


def cipher() -> PiiCipher:
    """The configured cipher."""
    if _extension.cipher is None:
        raise RuntimeError("PII cipher is not initialised")
    return _extension.cipher


def encrypt(value: str, purpose: str) -> str:
    """Encrypt one field value."""
    return cipher().encrypt(value, purpose)


def decrypt(token: str, purpose: str) -> str:
    """Decrypt one field value."""
    return cipher().decrypt(token, purpose)


def blind_index(value: str, purpose: str) -> str:
    """The keyed look-up hash of one field value."""
    return cipher().blind_index(value, purpose)


# --- masking: what every response shows -------------------------------------------------


def mask_id_number(value: str) -> str:
    """142333********1234: region prefix and last four only."""
    if len(value) <= 10:
        return value[:2] + "*" * max(len(value) - 4, 0) + value[-2:]
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    """138****5678."""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: str) -> str:
    """张*明 / 张* : only the first and (for three or more characters) the last character."""
    if len(value) <= 1:
        return "*"
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]


# What an ID number or a mobile number looks like inside free text (complaints, announcements).
_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_PHONE_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])")


def mask_free_text(value: str) -> str:
    """Free text with every ID number and mobile number in it masked."""
    value = _ID_IN_TEXT.sub(lambda m: mask_id_number(m.group()), value)
    return _PHONE_IN_TEXT.sub(lambda m: mask_phone(m.group()), value)
