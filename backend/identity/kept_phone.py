"""The phone WeChat confirmed on the phone while the parent approved a PC sign-in.

A PC has no getPhoneNumber button: when a parent without a binding confirms a PC sign-in,
the phone page asks for the WeChat phone and sends its code with the confirmation. The
number is exchanged there (the same code2phone call as the binding) and kept here,
encrypted, for `PC_KEPT_PHONE_SECONDS` (30 minutes), for that account's PC session only:
`POST /me/identity` from the PC without a `phone_code` binds it. Never logged.
"""

from __future__ import annotations

from flask import current_app

from backend.core import pii
from backend.core.redis import redis_store

KEPT_PHONE = "pc.kept_phone"


def _key(user_id: int) -> str:
    return redis_store.key("pc-phone", user_id)


def keep(user_id: int, phone: str) -> None:
    """Keep the WeChat-verified phone for the account's PC session (replaces an older one)."""
    seconds = int(current_app.config["PC_KEPT_PHONE_SECONDS"])
    redis_store.client.set(_key(user_id), pii.encrypt(phone, KEPT_PHONE), ex=seconds)


def kept(user_id: int) -> str | None:
    """The phone kept for the account, while it lasts."""
    value = redis_store.client.get(_key(user_id))
    if value is None:
        return None
    return pii.decrypt(value.decode() if isinstance(value, bytes) else str(value), KEPT_PHONE)


def forget(user_id: int) -> None:
    """Drop the kept phone (it became the binding's)."""
    redis_store.client.delete(_key(user_id))
