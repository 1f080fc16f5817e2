"""One way to hand a stored document to a browser."""

from __future__ import annotations

from flask import Response

from backend.uploads.models import Upload
from backend.uploads.services import EXTENSIONS

# A family's documents are never kept by a browser or a shared proxy.
PRIVATE = "private, no-store"


def document_response(upload: Upload, data: bytes, cache: str = PRIVATE) -> Response:
    """The decrypted document inline, under a neutral name, never content-sniffed."""
    extension = EXTENSIONS.get(upload.content_type, "bin")
    response = Response(data, mimetype=upload.content_type)
    response.headers["Content-Disposition"] = f'inline; filename="{upload.id}.{extension}"'
    response.headers["Cache-Control"] = cache
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
