"""Key rotation: re-encrypt personal data still sealed with an older PII key.

Every ciphertext carries its key id, so rotation is: make the new key active, keep the old
one in PII_OLD_KEYS, run `flask --app backend rotate-pii-key`, then drop the old key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from backend.core import pii
from backend.core.db import db
from backend.identity.models import Child, Guardian, IdentityDispute
from backend.uploads import storage
from backend.uploads.models import Upload

logger = logging.getLogger(__name__)


def _rotate(token: str | None, purpose: str) -> str | None:
    cipher = pii.cipher()
    if not token or cipher.key_id_of(token) == cipher.active_key_id:
        return None
    return cipher.encrypt(cipher.decrypt(token, purpose), purpose)


def _rotate_columns(model: Any, columns: dict[str, str]) -> int:
    changed = 0
    for row in db.session.scalars(select(model)):
        for column, purpose in columns.items():
            rotated = _rotate(getattr(row, column), purpose)
            if rotated is not None:
                setattr(row, column, rotated)
                changed += 1
    return changed


def _rotate_json(model: Any, column: str, key: str, purpose: str) -> int:
    changed = 0
    for row in db.session.scalars(select(model)):
        data = getattr(row, column)
        rotated = _rotate(data.get(key), purpose) if data else None
        if rotated is not None:
            # A new dict, so the JSON column is seen as changed.
            setattr(row, column, {**data, key: rotated})
            changed += 1
    return changed


def _rotate_files() -> int:
    cipher = pii.cipher()
    changed = 0
    for upload in db.session.scalars(select(Upload).where(Upload.storage_name.is_not(None))):
        name = upload.storage_name
        if name is None:
            continue
        blob = storage.path_for(name).read_bytes()
        if blob.split(b"\n", 1)[0].decode(errors="replace") == cipher.active_key_id:
            continue
        storage.write_encrypted(name, upload.id, storage.read_decrypted(name, upload.id))
        changed += 1
    return changed


def rotate_personal_data() -> dict[str, int]:
    """Re-encrypt every value and file not sealed with the active key; returns counts."""
    steps: dict[str, Callable[[], int]] = {
        "guardians": lambda: _rotate_columns(Guardian, {
            "id_number_enc": "guardian.id_number", "phone_enc": "guardian.phone"}),
        "children": lambda: _rotate_columns(Child, {"id_number_enc": "child.id_number"}),
        "residence_permits": lambda: _rotate_json(
            Child, "residence_permit", "number_enc", "child.residence_permit"),
        "disability_certificates": lambda: _rotate_json(
            Child, "disability", "certificate_number_enc", "child.disability_certificate"),
        "disputes": lambda: _rotate_columns(IdentityDispute,
                                            {"contact_phone_enc": "dispute.phone"}),
        "files": _rotate_files,
    }
    counts = {name: step() for name, step in steps.items()}
    logger.info("personal data re-encrypted counts=%s", counts)
    return counts
