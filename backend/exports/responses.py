"""One way to hand a finished workbook to a browser."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response

from backend.exports.services import CONTENT_TYPE, ExportFile


def download_response(export: ExportFile) -> Response:
    """The workbook streamed as an attachment, with an ASCII and a UTF-8 file name."""
    response = Response(export.chunks(), mimetype=CONTENT_TYPE, direct_passthrough=True)
    response.headers["Content-Length"] = str(export.size)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{export.filename}"; '
        f"filename*=UTF-8''{quote(export.display_name)}")
    # Personal data: never kept by a browser or a shared proxy.
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.call_on_close(export.file.close)
    return response
