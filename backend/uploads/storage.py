"""Encrypted files on disk: UPLOAD_DIR/<two hex>/<32 hex>, written atomically.

The directory lives outside any web root (the app serves no static files); every file is
sealed with the PII cipher and bound to its upload id, so a file copied onto another row
does not decrypt.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from backend.core.pii import cipher

_STORAGE_NAME = re.compile(r"[0-9a-f]{32}")
_SHARD = re.compile(r"[0-9a-f]{2}")
# Half-written files carry this prefix until os.replace() gives them their real name.
TEMP_PREFIX = ".partial-"


def upload_root() -> Path:
    """The configured UPLOAD_DIR."""
    return Path(current_app.config["UPLOAD_DIR"])


def new_storage_name() -> str:
    """A random file name that says nothing about the upload or its owner."""
    return secrets.token_hex(16)


def path_for(storage_name: str) -> Path:
    """Where a stored file lives; refuses anything that is not one of our names."""
    # Defence in depth: a name from anywhere else can never point outside UPLOAD_DIR.
    if not _STORAGE_NAME.fullmatch(storage_name):
        raise ValueError("not a storage name")
    return upload_root() / storage_name[:2] / storage_name


def _purpose(upload_id: str) -> str:
    return f"upload:{upload_id}"


def write_encrypted(storage_name: str, upload_id: str, data: bytes) -> None:
    """Encrypt `data` for `upload_id` and write it; readers never see a half-written file."""
    target = path_for(storage_name)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    blob = cipher().encrypt_bytes(data, purpose=_purpose(upload_id))
    # mkstemp creates the file with mode 0600 in the same directory, so os.replace is atomic.
    fd, temp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(blob)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise


def read_decrypted(storage_name: str, upload_id: str) -> bytes:
    """The plaintext of a stored file (OSError if missing, DecryptionError if tampered)."""
    blob = path_for(storage_name).read_bytes()
    return cipher().decrypt_bytes(blob, purpose=_purpose(upload_id))


def delete_file(storage_name: str) -> None:
    """Remove a stored file; a file that is already gone is fine."""
    path_for(storage_name).unlink(missing_ok=True)


@dataclass(frozen=True)
class StoredFile:
    """One file found under UPLOAD_DIR by iter_files()."""

    path: Path
    # None for a temporary file an interrupted write left behind.
    storage_name: str | None
    modified_at: float

    def delete(self) -> None:
        """Remove this file."""
        self.path.unlink(missing_ok=True)


def iter_files() -> Iterator[StoredFile]:
    """Every stored or half-written file in UPLOAD_DIR; anything else there is left alone."""
    root = upload_root()
    if not root.is_dir():
        return
    for shard in root.iterdir():
        if not (_SHARD.fullmatch(shard.name) and shard.is_dir() and not shard.is_symlink()):
            continue
        for entry in shard.iterdir():
            if entry.is_symlink() or not entry.is_file():
                continue
            if _STORAGE_NAME.fullmatch(entry.name) and entry.name[:2] == shard.name:
                name: str | None = entry.name
            elif entry.name.startswith(TEMP_PREFIX):
                name = None
            else:
                continue
            try:
                modified_at = entry.stat().st_mtime
            except FileNotFoundError:  # removed meanwhile (a delete or another sweep)
                continue
            yield StoredFile(path=entry, storage_name=name, modified_at=modified_at)
