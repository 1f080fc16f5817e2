"""Route decorator: validates input with pydantic, serialises output, commits once.

The same pydantic models feed the OpenAPI 3 document (see ``openapi.py``), so the
document cannot drift from what the API accepts.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Response, g, jsonify, request
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DataError, IntegrityError
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from backend.core.db import db, discard_after_commit, run_after_commit
from backend.core.errors import ApiError

logger = logging.getLogger(__name__)


def _constraint_name(exc: IntegrityError) -> str:
    diag = getattr(exc.orig, "diag", None)
    return str(getattr(diag, "constraint_name", None) or "unknown")


@dataclass(frozen=True)
class ApiMeta:
    """What the OpenAPI document needs to know about one view."""

    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()
    # A view that returns a file: its media type (e.g. "text/csv", "image/*").
    produces: str | None = None
    # A multipart view (parses its own form): its fields and its file fields, for the docs.
    form: type[BaseModel] | None = None
    files: tuple[str, ...] = ()
    # Request headers the view requires: name → description.
    headers: tuple[tuple[str, str], ...] = ()


# Chinese wording for pydantic's error types; anything else is "格式不正确".
_FIELD_MESSAGES = {
    "missing": "此项必填",
    "extra_forbidden": "不支持此字段",
    "string_too_short": "内容太短",
    "string_too_long": "内容太长",
    "too_short": "数量太少",
    "too_long": "数量太多",
    "literal_error": "取值不在允许范围内",
    "enum": "取值不在允许范围内",
    "greater_than": "数值太小",
    "greater_than_equal": "数值太小",
    "less_than": "数值太大",
    "less_than_equal": "数值太大",
    "value_error": "内容不符合要求",
}


def _field_errors(exc: ValidationError) -> list[dict[str, str]]:
    # Only the location and the kind of problem: never echo the submitted value back.
    return [
        {"field": ".".join(str(part) for part in err["loc"]), "type": err["type"],
         "message": _FIELD_MESSAGES.get(err["type"], "格式不正确")}
        for err in exc.errors(include_url=False, include_input=False)
    ]


def validation_error(
    exc: ValidationError, message: str = "提交的信息有误，请检查后重试"
) -> ApiError:
    """A 422 VALIDATION_FAILED listing the fields at fault."""
    return ApiError(422, "VALIDATION_FAILED", message, details={"fields": _field_errors(exc)})


def parse_json_body(model: type[BaseModel]) -> BaseModel:
    """Validate the JSON request body against a model (415 / 400 / 422 on bad input)."""
    if not request.is_json:
        raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "请以 application/json 格式提交")
    try:
        payload = request.get_json()
        unsafe = _has_control_characters(payload)
    except (BadRequest, RecursionError, ValueError):
        # RecursionError: absurdly deep nesting, e.g. "[" * 100000.
        raise ApiError(400, "INVALID_JSON", "请求内容不是有效的 JSON") from None
    if unsafe:
        raise ApiError(400, "INVALID_CHARACTERS", "提交的内容包含无效字符")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise validation_error(exc) from exc


_CONTROL = {chr(c) for c in range(32)} - {"\t", "\n", "\r"}


def _has_control_characters(value: Any) -> bool:
    """NUL and other control characters: PostgreSQL rejects NUL, nobody types them."""
    if isinstance(value, str):
        return not _CONTROL.isdisjoint(value)
    if isinstance(value, dict):
        return any(_has_control_characters(k) or _has_control_characters(v)
                   for k, v in value.items())
    if isinstance(value, list):
        return any(_has_control_characters(v) for v in value)
    return False


def reject_control_characters() -> None:
    """before_request: refuse control characters in the path, query string and form fields."""
    if _has_control_characters(request.path) or any(
        _has_control_characters(k) or _has_control_characters(v)
        for k, v in request.args.items(multi=True)
    ):
        raise ApiError(400, "INVALID_CHARACTERS", "请求地址包含无效字符")
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        try:
            fields = list(request.form.values())
        except RequestEntityTooLarge:
            return  # the view answers with its own, more specific 413
        if any(_has_control_characters(v) for v in fields):
            raise ApiError(400, "INVALID_CHARACTERS", "提交的内容包含无效字符")


def parse_query(model: type[BaseModel]) -> BaseModel:
    """Validate the query string against a model (422 on bad input)."""
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as exc:
        raise validation_error(exc) from exc


def _to_response(result: Any, status: int) -> Response:
    if isinstance(result, Response):
        return result
    if callable(result) and not isinstance(result, BaseModel):
        # An answer only the after-commit effects complete (e.g. a ticket that is queued
        # once the rows it names are committed): the view returns a function of it.
        result = result()
    if result is None:
        return Response(status=204 if status == 200 else status)
    if isinstance(result, BaseModel):
        result = result.model_dump(mode="json")
    response = jsonify(result)
    response.status_code = status
    return response


def api(
    *,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    errors: tuple[int, ...] = (),
    tags: tuple[str, ...] = (),
    produces: str | None = None,
    form: type[BaseModel] | None = None,
    files: tuple[str, ...] = (),
    headers: dict[str, str] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Response]]:
    """Wrap a view: parse `body`/`query`, call it, commit, then run after-commit effects."""
    meta = ApiMeta(body=body, query=query, response=response, status=status,
                   errors=errors, tags=tags, produces=produces, form=form, files=files,
                   headers=tuple((headers or {}).items()))

    def decorator(view: Callable[..., Any]) -> Callable[..., Response]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            if body is not None:
                kwargs["body"] = parse_json_body(body)
            if query is not None:
                kwargs["query"] = parse_query(query)
            try:
                result = view(*args, **kwargs)
                # One commit per request; side effects only after it succeeded.
                db.session.commit()
            except IntegrityError as exc:
                db.session.rollback()
                discard_after_commit()
                # A constraint caught a race the service did not foresee: a conflict, not
                # a crash. The database's own message (it quotes values) is not logged.
                logger.warning("integrity conflict request_id=%s constraint=%s",
                               g.get("request_id", "-"), _constraint_name(exc))
                raise ApiError(
                    409, "CONFLICT", "数据已被他人修改或重复提交，请刷新后重试"
                ) from None
            except (DataError, OverflowError):
                db.session.rollback()
                discard_after_commit()
                # e.g. an id beyond the database's integer range: the client's value is wrong.
                raise ApiError(422, "VALUE_OUT_OF_RANGE", "提交的数值超出范围") from None
            except BaseException:
                db.session.rollback()
                discard_after_commit()
                raise
            run_after_commit()
            return _to_response(result, status)

        wrapper._api_meta = meta  # type: ignore[attr-defined]
        return wrapper

    return decorator
