"""Uploads: check and clean the bytes, store them encrypted, read, delete and purge them.

Nothing here logs a file name, a file's contents or anything about its owner: upload ids
and storage names are random and are the only identifiers that reach a log line.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import logging
import re
import secrets
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from flask import current_app, g, has_request_context
from PIL import Image, ImageOps
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from backend.accounts.models import User
from backend.audit.services import client_fingerprint, record_audit
from backend.core.db import after_commit, db, utcnow
from backend.core.errors import ApiError
from backend.core.events import answered_yes
from backend.core.pii import DecryptionError
from backend.uploads import policy, storage
from backend.uploads.events import upload_changed, upload_delete_asked
from backend.uploads.models import Upload, UploadKind

logger = logging.getLogger(__name__)

# Our own limit, well below Pillow's global default (~89 MP), so a crafted header cannot
# make a worker allocate gigabytes; 40 MP covers every phone camera's normal output.
MAX_PIXELS = 40_000_000
# Very large photos are scaled down to this long side: a 户口簿 page stays readable and
# storage stays small (a 3000 px JPEG is about 1-2 MB).
MAX_SIDE = 3000
JPEG_QUALITY = 85
MAX_PDF_PAGES = 30
_MIB = 1024 * 1024

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_PDF_MAGIC = b"%PDF-"
_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")

EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}

# Page keys dropped while copying a PDF, recursively: actions run on open/close (/AA),
# XMP metadata and application data that can hold the author's details, and thumbnails
# that may still show what the visible page no longer does.
_PDF_EXCLUDED_KEYS = ("/AA", "/Metadata", "/PieceInfo", "/Thumb")
# Annotations that carry files, media or navigation rather than what the page shows.
_PDF_DROPPED_ANNOTATIONS = {
    "/Link", "/FileAttachment", "/Sound", "/Movie", "/Screen", "/RichMedia", "/3D",
}

_UNCOMMITTED_FILES = "_uploads_uncommitted_files"


# --- errors ---------------------------------------------------------------------------


def _type_not_allowed() -> ApiError:
    return ApiError(415, "UPLOAD_TYPE_NOT_ALLOWED", "仅支持 JPG、PNG 图片或 PDF 文件")


def _image_too_large() -> ApiError:
    return ApiError(
        422, "UPLOAD_IMAGE_TOO_LARGE",
        f"图片像素过大（超过 {MAX_PIXELS // 1_000_000:d} 百万像素），请缩小后重新上传",
    )


def _not_found() -> ApiError:
    return ApiError(404, "UPLOAD_NOT_FOUND", "材料不存在或已删除")


def _megabytes(limit: int) -> str:
    value = limit / _MIB
    return f"{round(value, 1):g}" if value >= 0.1 else f"{value:.2g}"


def max_upload_bytes() -> int:
    """The configured UPLOAD_MAX_BYTES."""
    return int(current_app.config["UPLOAD_MAX_BYTES"])


def too_large_error() -> ApiError:
    """413 UPLOAD_TOO_LARGE naming the limit in MB."""
    limit = max_upload_bytes()
    return ApiError(413, "UPLOAD_TOO_LARGE",
                    f"文件太大，请上传不超过 {_megabytes(limit)} MB 的文件",
                    details={"max_bytes": limit})


# --- checking and cleaning the bytes --------------------------------------------------


@dataclass(frozen=True)
class CleanFile:
    """Bytes safe to store: re-encoded image or rewritten PDF, and their type."""

    data: bytes
    content_type: str


def clean_file(raw: bytes) -> CleanFile:
    """Decide the type from the bytes alone and return a metadata-free copy (415 otherwise)."""
    if raw.startswith(_PDF_MAGIC):
        return CleanFile(_clean_pdf(raw), "application/pdf")
    if raw.startswith((_JPEG_MAGIC, _PNG_MAGIC)):
        return _clean_image(raw)
    raise _type_not_allowed()


def _draft_size(size: tuple[int, int]) -> tuple[int, int]:
    scale = MAX_SIDE / max(size)
    return max(1, int(size[0] * scale)), max(1, int(size[1] * scale))


def _saveable(image: Image.Image, fmt: str) -> Image.Image:
    if fmt == "JPEG":
        return image if image.mode in ("RGB", "L") else image.convert("RGB")
    if image.mode in ("RGB", "RGBA", "L", "LA"):
        return image
    if image.mode.startswith("I") or image.mode == "F":
        # 16-bit greyscale: scale to 8 bits (a plain convert would clip everything to white).
        return image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    return image.convert("RGBA" if image.has_transparency_data else "RGB")


def _clean_image(raw: bytes) -> CleanFile:
    # Pillow's DecompressionBombWarning is an error in the test suite; treat it like the
    # error it becomes at twice the limit. Our own MAX_PIXELS check catches smaller ones.
    bomb = (Image.DecompressionBombError, Image.DecompressionBombWarning)
    try:
        image = Image.open(io.BytesIO(raw), formats=["JPEG", "PNG"])
    except bomb as exc:
        raise _image_too_large() from exc
    except Exception as exc:  # any parser failure means "not an image we accept"
        raise _type_not_allowed() from exc
    with image:
        fmt = image.format or ""
        if image.width * image.height > MAX_PIXELS:
            raise _image_too_large()
        try:
            if fmt == "JPEG" and max(image.size) > MAX_SIDE:
                # Let libjpeg decode at 1/2, 1/4 or 1/8 scale: it still reads every byte
                # (a truncated file fails) but needs a fraction of the memory.
                image.draft(None, _draft_size(image.size))
            image.load()  # decodes everything: a truncated or corrupt file fails here
        except bomb as exc:
            raise _image_too_large() from exc
        except Exception as exc:
            raise _type_not_allowed() from exc
        try:
            # Before the metadata goes: a portrait photo must stay upright.
            picture = ImageOps.exif_transpose(image)
        except Exception:
            # Broken EXIF does not make a photo unusable; it only loses its orientation.
            picture = image.copy()
        picture = _saveable(picture, fmt)
        picture.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        # A fresh image holds pixels only: no EXIF (GPS), XMP, ICC profile, comments or
        # PNG text chunks can ride along, whatever a save plugin copies from `info`.
        fresh = Image.frombytes(picture.mode, picture.size, picture.tobytes())
        out = io.BytesIO()
        if fmt == "JPEG":
            fresh.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
            return CleanFile(out.getvalue(), "image/jpeg")
        fresh.save(out, "PNG")
        return CleanFile(out.getvalue(), "image/png")


def _strip_annotations(page: DictionaryObject) -> None:
    annotations = page.get("/Annots")
    if annotations is None:
        return
    kept = ArrayObject()
    for reference in annotations.get_object():
        annotation = reference.get_object()
        if not isinstance(annotation, DictionaryObject):
            continue
        if annotation.get("/Subtype") in _PDF_DROPPED_ANNOTATIONS:
            continue
        # Actions (JavaScript, launch, submit-form) never run from a stored document;
        # the appearance (a seal, a signature) stays visible.
        annotation.pop(NameObject("/A"), None)
        kept.append(reference)
    if kept:
        page[NameObject("/Annots")] = kept
    else:
        del page[NameObject("/Annots")]


def _clean_pdf(raw: bytes) -> bytes:
    try:
        reader = PdfReader(io.BytesIO(raw))
        encrypted = reader.is_encrypted
    except Exception as exc:  # any parser failure means "not a PDF we accept"
        raise _type_not_allowed() from exc
    if encrypted:
        # Staff could not open it, and we could not clean it.
        raise ApiError(422, "UPLOAD_PDF_ENCRYPTED", "请上传未加密的 PDF")
    try:
        page_count = len(reader.pages)
    except Exception as exc:
        raise _type_not_allowed() from exc
    if page_count == 0:
        raise _type_not_allowed()
    if page_count > MAX_PDF_PAGES:
        raise ApiError(422, "UPLOAD_PDF_TOO_MANY_PAGES",
                       f"PDF 不能超过 {MAX_PDF_PAGES} 页，请只上传需要的页面")
    try:
        # Pages only: the document catalogue (metadata, /OpenAction, document JavaScript,
        # embedded files, forms) is not copied, and the writer gets no /Info of its own.
        writer = PdfWriter()
        for page in reader.pages:
            _strip_annotations(page)
            writer.add_page(page, excluded_keys=_PDF_EXCLUDED_KEYS)
        writer.metadata = None
        out = io.BytesIO()
        writer.write(out)
    except Exception as exc:
        raise _type_not_allowed() from exc
    return out.getvalue()


# --- storing --------------------------------------------------------------------------


def _remove_unless_committed(storage_name: str) -> None:
    # The row is committed by the request wrapper after we return; if that commit (or
    # anything after this point) fails, the request's teardown removes the file.
    if not has_request_context():
        return
    pending: set[str] = g.setdefault(_UNCOMMITTED_FILES, set())
    pending.add(storage_name)
    after_commit(functools.partial(pending.discard, storage_name))


def discard_uncommitted_files() -> None:
    """Delete files this request wrote whose rows never committed (request teardown)."""
    for storage_name in g.pop(_UNCOMMITTED_FILES, set()):
        try:
            storage.delete_file(storage_name)
        except OSError:
            logger.warning("could not remove an uncommitted upload file; the sweep will")


def create_upload(owner_user_id: int, kind: UploadKind, data: bytes) -> Upload:
    """Check, clean, encrypt and store one document for a parent (or for staff, scanned at
    the counter for a family they register: it is handed over with the registration)."""
    if not data:
        raise ApiError(422, "UPLOAD_EMPTY", "文件内容为空，请重新选择文件")
    if len(data) > max_upload_bytes():
        raise too_large_error()
    clean = clean_file(data)
    upload_id = secrets.token_hex(16)
    storage_name = storage.new_storage_name()
    storage.write_encrypted(storage_name, upload_id, clean.data)
    _remove_unless_committed(storage_name)
    upload = Upload(
        id=upload_id, owner_user_id=owner_user_id, kind=kind,
        content_type=clean.content_type, size=len(clean.data),
        sha256=hashlib.sha256(clean.data).hexdigest(), storage_name=storage_name,
    )
    try:
        db.session.add(upload)
        db.session.flush()
    except BaseException:
        # No row, no file: a failed insert must not leave an unreferenced document behind.
        storage.delete_file(storage_name)
        raise
    logger.info("upload stored upload_id=%s kind=%s size=%d", upload.id, kind.value, upload.size)
    # Registrations warm the intake's cache of document owners at commit (they keep
    # working if the database is briefly away at the opening minute).
    upload_changed.send(upload_ids=[upload.id], change="created")
    return upload


# --- reading ----------------------------------------------------------------------------


def readable_upload(user: User, upload_id: str) -> Upload:
    """An upload `user` may read; 404 for anything else, so existence never leaks."""
    upload = db.session.get(Upload, upload_id) if _UPLOAD_ID.fullmatch(upload_id) else None
    if upload is None or not policy.can_read(user, upload):
        raise _not_found()
    return upload


def stored_bytes(upload: Upload) -> bytes:
    """The decrypted file of an upload the caller has already been allowed to read (404 if gone)."""
    if upload.storage_name is None:
        raise _not_found()
    try:
        return storage.read_decrypted(upload.storage_name, upload.id)
    except (OSError, DecryptionError) as exc:
        # Lost or tampered file: say so in the log (ids only) and treat it as gone.
        logger.error("upload file unreadable upload_id=%s error=%s", upload.id,
                     type(exc).__name__)
        raise _not_found() from exc


def read_upload(user: User, upload_id: str, client_address: str | None) -> tuple[Upload, bytes]:
    """The decrypted document; a read by anyone but the owner is audited."""
    upload = readable_upload(user, upload_id)
    data = stored_bytes(upload)
    if user.id != upload.owner_user_id:
        record_audit(
            db.session, action="upload.view", actor_user_id=user.id,
            actor_role=user.role.value, object_type="upload", object_id=upload.id,
            client_fingerprint=client_fingerprint(client_address),
            details={"kind": upload.kind.value},
        )
    return upload, data


# --- deleting and purging -------------------------------------------------------------


def delete_upload(owner_user_id: int, upload_id: str) -> None:
    """Delete a parent's own document unless it was submitted with a registration."""
    upload = None
    if _UPLOAD_ID.fullmatch(upload_id):
        # Locked so a registration cannot attach it between the check and the delete.
        upload = db.session.scalar(
            select(Upload)
            .where(Upload.id == upload_id, Upload.owner_user_id == owner_user_id,
                   Upload.purged_at.is_(None))
            .with_for_update()
        )
    if upload is None:
        raise _not_found()
    in_use = ApiError(409, "UPLOAD_IN_USE", "该材料已随报名提交，不能删除")
    if answered_yes(upload_delete_asked.send(upload)):  # submitted with a registration
        raise in_use
    storage_name = upload.storage_name
    db.session.delete(upload)
    try:
        db.session.flush()
    except IntegrityError as exc:  # attached by a registration that won the race
        raise in_use from exc
    if storage_name is not None:
        # Only once the row is really gone: a rolled-back delete keeps a readable file.
        after_commit(functools.partial(storage.delete_file, storage_name))
    upload_changed.send(upload_ids=[upload_id], change="deleted")


def transfer_uploads(old_owner_user_id: int, new_owner_user_id: int,
                     only: list[str] | None = None) -> list[str]:
    """Move the documents of one account to another: all of them (a binding transferred),
    or those of `only` it owns (documents staff scanned for a family at the counter)."""
    owned = select(Upload.id).where(Upload.owner_user_id == old_owner_user_id)
    if only is not None:
        owned = owned.where(Upload.id.in_(only), Upload.purged_at.is_(None))
    upload_ids = list(db.session.scalars(owned))
    if upload_ids:
        db.session.execute(update(Upload).where(Upload.id.in_(upload_ids))
                           .values(owner_user_id=new_owner_user_id))
        upload_changed.send(upload_ids=upload_ids, change="moved")
    return upload_ids


def purge_upload(upload: Upload) -> None:
    """Delete an upload's file now and mark the row purged (season purge); reads then 404."""
    # The file goes at once, not after commit: the purge runs outside requests, and if
    # its commit fails the row merely points at nothing (reads 404) until it is re-run.
    if upload.storage_name is not None:
        storage.delete_file(upload.storage_name)
    upload.storage_name = None
    if upload.purged_at is None:
        upload.purged_at = utcnow()
    upload_changed.send(upload_ids=[upload.id], change="purged")


StoredFiles = Sequence[storage.StoredFile]


def _batches(items: StoredFiles, size: int) -> Iterator[StoredFiles]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def sweep_orphan_files(older_than: dt.timedelta) -> int:
    """Delete files in UPLOAD_DIR no Upload row points at; returns how many were removed."""
    # Only files older than `older_than`: a request that has just written its file may
    # not have committed its row yet.
    cutoff = time.time() - older_than.total_seconds()
    candidates = [f for f in storage.iter_files() if f.modified_at < cutoff]
    removed = 0
    for batch in _batches(candidates, 500):
        names = [f.storage_name for f in batch if f.storage_name is not None]
        known = set(db.session.scalars(
            select(Upload.storage_name).where(Upload.storage_name.in_(names))
        )) if names else set()
        for stored in batch:
            if stored.storage_name is None or stored.storage_name not in known:
                stored.delete()
                removed += 1
    logger.info("upload sweep removed=%d", removed)
    return removed
