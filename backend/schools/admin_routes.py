"""Bureau administration of the school catalogue: imports of regions, schools and zones."""

from __future__ import annotations

from flask import Blueprint, Response, request
from pydantic import ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from backend.accounts import scope
from backend.audit.services import client_fingerprint
from backend.core.api import api, validation_error
from backend.core.auth import current_user, require_roles
from backend.core.errors import ApiError
from backend.schools import importer
from backend.schools.import_schemas import ImportForm, ImportResult

bp = Blueprint("schools_admin", __name__, url_prefix="/api/v1/admin")

# Room for the multipart boundaries and the other form fields around the file itself.
_FORM_OVERHEAD_BYTES = 64 * 1024


def _uploaded_file() -> tuple[bytes, ImportForm]:
    # Refuse a big body before it is parsed (unless a before_request hook already parsed it
    # under the app-wide limit; then the length check below still applies).
    request.max_content_length = importer.MAX_BYTES + _FORM_OVERHEAD_BYTES
    try:
        upload = request.files.get("file")
        fields = request.form.to_dict()
    except RequestEntityTooLarge as exc:
        raise importer.too_large() from exc
    try:
        form = ImportForm.model_validate(fields)
    except ValidationError as exc:
        raise validation_error(exc) from exc
    data = upload.read(importer.MAX_BYTES + 1) if upload is not None else b""
    # A browser sends an empty, nameless part when no file was chosen.
    if upload is None or (not upload.filename and not data):
        raise ApiError(422, "IMPORT_FILE_MISSING", "请选择要导入的文件",
                       details={"fields": [{"field": "file", "type": "missing",
                                            "message": "此项必填"}]})
    if len(data) > importer.MAX_BYTES:
        raise importer.too_large()
    return data, form


@bp.post("/imports/<kind>")
@require_roles("bureau_admin")
@api(response=ImportResult, errors=(404, 409, 413, 422), tags=("admin-imports",),
     form=ImportForm, files=("file",))
def import_catalogue(kind: str) -> ImportResult:
    """Check (dry_run, the default) or import a CSV/XLSX file of regions, schools or zones."""
    importer.check_kind(kind)
    data, form = _uploaded_file()
    user = current_user()
    return importer.import_catalogue(
        kind, data, authority_id=scope.authority_id(user), dry_run=form.dry_run,
        actor_user_id=user.id, actor_role=user.role.value,
        client_fingerprint=client_fingerprint(request.remote_addr),
    )


@bp.get("/imports/templates/<kind>")
@require_roles("bureau_admin")
@api(errors=(404,), tags=("admin-imports",), produces="text/csv")
def import_template(kind: str) -> Response:
    """The CSV template of an import (header and one sample row), for Excel."""
    body = importer.template_csv(kind)
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{kind}-import-template.csv"',
    })
