"""API errors and their JSON form: {"error": {"code", "message", "details"?}}."""

from __future__ import annotations

import logging
from typing import Any

import redis.exceptions
import sqlalchemy.exc
from flask import Flask, Response, g, jsonify
from werkzeug.exceptions import HTTPException

logger = logging.getLogger(__name__)

# Chinese messages for errors raised by the HTTP layer itself.
HTTP_ERRORS: dict[int, tuple[str, str]] = {
    400: ("BAD_REQUEST", "请求格式有误"),
    401: ("UNAUTHORIZED", "请先登录"),
    403: ("FORBIDDEN", "没有权限执行此操作"),
    404: ("NOT_FOUND", "请求的资源不存在"),
    405: ("METHOD_NOT_ALLOWED", "不支持该请求方法"),
    409: ("CONFLICT", "操作与当前状态冲突"),
    413: ("PAYLOAD_TOO_LARGE", "上传内容过大"),
    415: ("UNSUPPORTED_MEDIA_TYPE", "请求内容类型不受支持，请使用 JSON"),
    422: ("VALIDATION_FAILED", "提交的信息有误，请检查后重试"),
    429: ("TOO_MANY_REQUESTS", "操作太频繁，请稍后再试"),
    500: ("INTERNAL_ERROR", "系统繁忙，请稍后再试"),
    503: ("SERVICE_UNAVAILABLE", "服务暂时不可用，请稍后再试"),
}


class ApiError(Exception):
    """An error a client can act on: a status, a stable code and a Chinese message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Serialise one error in the project's JSON shape."""
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    response = jsonify({"error": body})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def init_app(app: Flask) -> None:
    """Turn every error, expected or not, into the JSON error shape."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        code, message = HTTP_ERRORS.get(status, ("HTTP_ERROR", "请求无法完成"))
        headers = {}
        if status == 405 and exc.get_response().headers.get("Allow"):
            headers["Allow"] = exc.get_response().headers["Allow"]
        return error_response(status, code, message, headers=headers)

    @app.errorhandler(redis.exceptions.ConnectionError)
    @app.errorhandler(redis.exceptions.TimeoutError)
    @app.errorhandler(sqlalchemy.exc.OperationalError)
    @app.errorhandler(sqlalchemy.exc.InterfaceError)
    def _backend_down(exc: Exception) -> Response:
        # Redis or the database is unreachable: tell the client to come back, not "bug".
        logger.error("backend unavailable request_id=%s error=%s", g.get("request_id", "-"),
                     type(exc).__name__)
        return error_response(503, "SERVICE_UNAVAILABLE", "系统繁忙，请稍后再试",
                              headers={"Retry-After": "10"})

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        # The body says nothing internal; the log has the request id to find the trace.
        logger.exception("unhandled error request_id=%s", g.get("request_id", "-"))
        code, message = HTTP_ERRORS[500]
        return error_response(
            500, code, message, details={"request_id": g.get("request_id", "-")}
        )
