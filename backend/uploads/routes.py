"""Uploads API: parents' documents, readable by their owner and the staff they were sent to."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request
from pydantic import ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from backend.core.api import api, validation_error
from backend.core.auth import current_user, require_login, require_roles
from backend.core.errors import ApiError
from backend.uploads import services
from backend.uploads.models import Upload, UploadKind
from backend.uploads.responses import document_response
from backend.uploads.schemas import UploadForm, UploadOut

bp = Blueprint("uploads", __name__, url_prefix="/api/v1")


@bp.teardown_request
def _discard_uncommitted_files(_exc: BaseException | None) -> None:
    services.discard_uncommitted_files()


def upload_out(upload: Upload) -> UploadOut:
    """A stored document's kind, type, hash and size."""
    return UploadOut(upload_id=upload.id, kind=upload.kind, content_type=upload.content_type,
                     sha256=upload.sha256, size=upload.size)


def parse_upload_request() -> tuple[UploadKind, bytes]:
    """The `kind` field and at most UPLOAD_MAX_BYTES + 1 bytes of the `file` part."""
    limit = services.max_upload_bytes()
    try:
        # Parsing the body enforces MAX_CONTENT_LENGTH: answer with our own 413.
        fields = request.form.to_dict()
        file = request.files.get("file")
    except RequestEntityTooLarge as exc:
        raise services.too_large_error() from exc
    fields.pop("file", None)
    kind: UploadKind | None = None
    field_errors: list[dict[str, Any]] = []
    try:
        kind = UploadForm.model_validate(fields).kind
    except ValidationError as exc:
        field_errors = (validation_error(exc).details or {}).get("fields", [])
    if file is None:
        field_errors.append({"field": "file", "type": "missing", "message": "请选择要上传的文件"})
    if field_errors or kind is None or file is None:
        raise ApiError(422, "VALIDATION_FAILED", "提交的信息有误，请检查后重试",
                       details={"fields": field_errors})
    return kind, file.stream.read(limit + 1)


@bp.post("/uploads")
@require_roles("parent")
@api(response=UploadOut, status=201, errors=(413, 415, 422), form=UploadForm, files=("file",))
def create_upload() -> UploadOut:
    """Upload a photo (JPG/PNG) or PDF of a document: multipart fields `file` and `kind`."""
    kind, data = parse_upload_request()
    return upload_out(services.create_upload(current_user().id, kind, data))


@bp.get("/uploads/<upload_id>")
@require_login
@api(errors=(404,), produces="*/*")
def download_upload(upload_id: str) -> Response:
    """The document (JPEG, PNG or PDF), for its owner and the staff it was submitted to."""
    upload, data = services.read_upload(current_user(), upload_id, request.remote_addr)
    return document_response(upload, data)


@bp.get("/uploads/<upload_id>/meta")
@require_login
@api(response=UploadOut, errors=(404,))
def upload_meta(upload_id: str) -> UploadOut:
    """Kind, type, sha256 and size of a document the caller may read."""
    return upload_out(services.readable_upload(current_user(), upload_id))


@bp.delete("/uploads/<upload_id>")
@require_roles("parent")
@api(status=204, errors=(404, 409))
def delete_upload(upload_id: str) -> None:
    """Delete one's own document, unless it was submitted with a registration."""
    services.delete_upload(current_user().id, upload_id)
