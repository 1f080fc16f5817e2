"""Route decorator: validates input with pydantic, serialises output, commits once.

The same pydantic models feed the OpenAPI 3 document (see ``openapi.py``), so the
document cannot drift from what the API accepts.
"""

from __future__ import annotations

import functools
import json
import logging
import re
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
    # Request headers the view reads when sent (e.g. an optional Idempotency-Key).
    optional_headers: tuple[tuple[str, str], ...] = ()


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
        as_json = json.dumps(_integral_floats(payload))
    except (BadRequest, RecursionError, ValueError):
        # RecursionError: absurdly deep nesting, e.g. "[" * 100000.
        raise ApiError(400, "INVALID_JSON", "请求内容不是有效的 JSON") from None
    if unsafe:
        raise ApiError(400, "INVALID_CHARACTERS", "提交的内容包含无效字符")
    _check_temporal_formats(model, payload)
    try:
        # Strict, as JSON: a number is not a string, "1" is not a number, 0 is not a date;
        # the types the document gives are the types accepted.
        return model.model_validate_json(as_json, strict=True)
    except ValidationError as exc:
        raise validation_error(exc) from exc


_TEMPORAL = {"date": re.compile(r"\d{4}-\d{2}-\d{2}"),
             "date-time": re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}.*")}


@functools.cache
def _json_schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()


_JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "null": type(None), "boolean": bool, "string": str, "array": list, "object": dict,
    "integer": int, "number": (int, float)}


def _json_type_fits(value: Any, schema: dict[str, Any]) -> bool:
    expected = _JSON_TYPES.get(schema.get("type", ""))
    if expected is None:
        return True  # no type, or a $ref: decided further down
    return isinstance(value, expected) and not (
        isinstance(value, bool) and schema.get("type") in ("integer", "number"))


def _temporal_errors(value: Any, schema: dict[str, Any], defs: dict[str, Any],
                     path: tuple[str, ...]) -> list[dict[str, str]]:
    """Fields the document calls a date or date-time that hold anything but ISO 8601 text.

    Pydantic would also read a number, or a string of digits, as a Unix timestamp.
    """
    if "$ref" in schema:
        schema = defs.get(schema["$ref"].rsplit("/", 1)[-1], {})
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        if value is None:
            return []
        # Pydantic reports a value no branch's type takes; here only a temporal branch counts.
        found = [_temporal_errors(value, branch, defs, path) for branch in branches
                 if _json_type_fits(value, branch)]
        return [] if not found or any(not errors for errors in found) else found[0]
    pattern = _TEMPORAL.get(schema.get("format", ""))
    if pattern is not None and (not isinstance(value, str) or not pattern.fullmatch(value)):
        return [{"field": ".".join(path), "type": "temporal_format", "message": "日期格式不正确"}]
    errors: list[dict[str, str]] = []
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            sub = properties.get(key, extra if isinstance(extra, dict) else None)
            if sub is not None:
                errors += _temporal_errors(item, sub, defs, (*path, str(key)))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for n, item in enumerate(value):
            errors += _temporal_errors(item, schema["items"], defs, (*path, str(n)))
    return errors


def _check_temporal_formats(model: type[BaseModel], payload: Any) -> None:
    schema = _json_schema(model)
    errors = _temporal_errors(payload, schema, schema.get("$defs", {}), ())
    if errors:
        raise ApiError(422, "VALIDATION_FAILED", "提交的信息有误，请检查后重试",
                       details={"fields": errors})


def _integral_floats(value: Any) -> Any:
    """2.0 and 1e2 as 2 and 100: JSON Schema counts them as integers, strict pydantic not."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral_floats(v) for v in value]
    return value


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
    args = request.args.to_dict()
    _check_temporal_formats(model, args)
    try:
        return model.model_validate(args)
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
    optional_headers: dict[str, str] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Response]]:
    """Wrap a view: parse `body`/`query`, call it, commit, then run after-commit effects."""
    meta = ApiMeta(body=body, query=query, response=response, status=status,
                   errors=errors, tags=tags, produces=produces, form=form, files=files,
                   headers=tuple((headers or {}).items()),
                   optional_headers=tuple((optional_headers or {}).items()))

    def decorator(view: Callable[..., Any]) -> Callable[..., Response]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            if body is not None:
                kwargs["body"] = parse_json_body(body)
            if query is not None:
                kwargs["query"] = parse_query(query)
            try:
                result = view(*args, **kwargs)
                # One commit per request; side effects only after it succeeded. A request
                # that never touched the database (the Redis-only hot paths) has nothing to
                # commit, and skipping the empty commit is a tenth of a millisecond.
                if db.session.registry.has() and db.session().in_transaction():
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
