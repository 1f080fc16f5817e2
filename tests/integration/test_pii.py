"""The personal-data cipher: authenticated, bound to its column, rotatable, never plaintext."""

from __future__ import annotations

import base64
import dataclasses
import io
import os
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from backend.core import pii
from backend.core.db import db
from backend.core.pii import DecryptionError, PiiCipher
from backend.identity.models import Guardian
from backend.uploads.models import Upload
from backend.uploads.storage import path_for
from tests.conftest import bearer
from tests.factories import make_guardian


def _cipher(**keys: bytes) -> PiiCipher:
    active = next(iter(keys))
    return PiiCipher(active_key_id=active, keys=dict(keys), index_key=b"i" * 32)


def test_values_are_bound_to_their_purpose_and_tamper_evident() -> None:
    cipher = _cipher(k1=os.urandom(32))
    token = cipher.encrypt("141124201808319997", "child.id_number")
    assert token.startswith("v1:k1:") and "141124" not in token
    assert cipher.decrypt(token, "child.id_number") == "141124201808319997"
    with pytest.raises(DecryptionError):
        cipher.decrypt(token, "guardian.id_number")  # moved to another column
    body = token.split(":", 2)[2]
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(DecryptionError):
        cipher.decrypt("v1:k1:" + flipped, "child.id_number")
    with pytest.raises(DecryptionError):
        _cipher(k9=os.urandom(32)).decrypt(token, "child.id_number")


def test_blind_index_is_stable_across_encryption_keys() -> None:
    one, two = _cipher(k1=os.urandom(32)), _cipher(k2=os.urandom(32))
    assert one.blind_index("13800000000", "guardian.phone") == two.blind_index(
        "13800000000", "guardian.phone")
    assert one.blind_index("13800000000", "guardian.phone") != one.blind_index(
        "13800000000", "dispute.phone")


def test_masks() -> None:
    assert pii.mask_id_number("142333201801011234") == "142333********1234"
    assert pii.mask_phone("13812345678") == "138****5678"
    assert pii.mask_name("张三明") == "张*明" and pii.mask_name("张三") == "张*"


def test_rotation_re_encrypts_values_and_files(
    app: Flask, client: FlaskClient, login_parent: Any, session: Any
) -> None:
    login = login_parent()
    from backend.accounts.models import User

    make_guardian(db.session.get(User, login["user"]["id"]), phone="13600000001")
    image = io.BytesIO()
    Image.new("RGB", (20, 20), (0, 90, 200)).save(image, format="PNG")
    upload_id = client.post("/api/v1/uploads", headers=bearer(login["token"]), data={
        "kind": "birth_certificate", "file": (io.BytesIO(image.getvalue()), "b.png")},
        content_type="multipart/form-data").get_json()["upload_id"]
    old = pii.cipher()
    new_key = os.urandom(32)
    rotated = dataclasses.replace(old, active_key_id="k2", keys={"k2": new_key, **old.keys})
    pii._extension.cipher = rotated
    try:
        result = app.test_cli_runner().invoke(args=["rotate-pii-key"])
        assert result.exit_code == 0, result.output
        assert "guardians=2" in result.output and "files=1" in result.output
        guardian = db.session.scalar(select(Guardian))
        assert guardian is not None and guardian.phone_enc is not None
        assert guardian.phone_enc.startswith("v1:k2:")
        # The old key can now be dropped: everything reads with the new one alone.
        pii._extension.cipher = dataclasses.replace(old, active_key_id="k2",
                                                    keys={"k2": new_key})
        assert pii.decrypt(guardian.phone_enc, "guardian.phone") == "13600000001"
        upload = db.session.get(Upload, upload_id)
        assert upload is not None and upload.storage_name is not None
        assert path_for(upload.storage_name).read_bytes().startswith(b"k2\n")
        download = client.get(f"/api/v1/uploads/{upload_id}", headers=bearer(login["token"]))
        assert download.status_code == 200
        again = app.test_cli_runner().invoke(args=["rotate-pii-key"])
        assert "guardians=0" in again.output and "files=0" in again.output
    finally:
        pii._extension.cipher = old


def test_generated_keys_are_32_bytes(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["generate-pii-key"])
    key = result.output.strip()
    assert len(base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))) == 32
