"""The OpenAPI 3 document, built from the route table and the pydantic models."""

from __future__ import annotations

import inspect
import re
from typing import Any

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from backend.core.api import ApiMeta
from backend.core.errors import HTTP_ERRORS

_CONVERTER = re.compile(r"<(?:(?P<conv>[a-z]+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
# Flask's int converter takes digits only; the database's ids are 32-bit.
_CONVERTER_TYPES: dict[str, dict[str, Any]] = {
    "int": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
    "float": {"type": "number"},
}
_SKIP_METHODS = {"HEAD", "OPTIONS"}


def _openapi_path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params: list[dict[str, Any]] = []

    def replace(match: re.Match[str]) -> str:
        schema = dict(_CONVERTER_TYPES.get(match.group("conv") or "", {"type": "string"}))
        params.append({"name": match.group("name"), "in": "path", "required": True,
                       "schema": schema})
        return "{" + match.group("name") + "}"

    return _CONVERTER.sub(replace, rule), params


def _error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "example": "VALIDATION_FAILED"},
                    "message": {"type": "string", "example": "提交的信息有误，请检查后重试"},
                    "details": {"type": "object"},
                },
            }
        },
    }


def _multipart_schema(meta: ApiMeta, schemas: dict[str, Any]) -> dict[str, Any]:
    """One object of the form model's fields and the file parts.

    Not `allOf` of the two: the form model forbids extra fields, so an `allOf` would
    forbid the file parts it requires and no request could match the document.
    """
    form = dict(schemas[meta.form.__name__]) if meta.form is not None else {}
    properties = {**form.get("properties", {}),
                  **{name: {"type": "string", "format": "binary"} for name in meta.files}}
    required = [*form.get("required", []), *meta.files]
    schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
    if "additionalProperties" in form:
        schema["additionalProperties"] = form["additionalProperties"]
    if "description" in form:
        schema["description"] = form["description"]
    return schema


def build_openapi(app: Flask, *, title: str, version: str) -> dict[str, Any]:
    """Describe every registered route; request/response schemas come from pydantic."""
    metas: list[tuple[Any, str, ApiMeta | None, tuple[str, ...] | None]] = []
    models: set[type[BaseModel]] = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        meta: ApiMeta | None = getattr(view, "_api_meta", None)
        roles: tuple[str, ...] | None = getattr(view, "_api_roles", None)
        metas.append((rule, rule.endpoint, meta, roles))
        if meta:
            models.update(m for m in (meta.body, meta.query, meta.response, meta.form)
                          if m is not None)

    ordered = sorted(models, key=lambda m: m.__name__)
    _, defs = models_json_schema(
        [(m, "validation") for m in ordered], ref_template="#/components/schemas/{model}"
    )
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    schemas["Error"] = _error_schema()

    def ref(model: type[BaseModel]) -> dict[str, str]:
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    paths: dict[str, dict[str, Any]] = {}
    for rule, endpoint, meta, roles in metas:
        path, path_params = _openapi_path(rule.rule)
        view = app.view_functions[endpoint]
        doc = inspect.getdoc(view) or endpoint
        for method in sorted((rule.methods or set()) - _SKIP_METHODS):
            operation: dict[str, Any] = {
                "operationId": f"{endpoint}.{method.lower()}",
                "summary": doc.splitlines()[0],
                "tags": list(meta.tags) if meta and meta.tags else [endpoint.split(".")[0]],
                "parameters": list(path_params),
                "responses": {},
            }
            if len(doc.splitlines()) > 1:
                # The whole docstring: where a route names its error codes (a 409 and its
                # stable code), clients read them here.
                operation["description"] = " ".join(doc.split())
            status = str(meta.status) if meta else "200"
            if meta and meta.response is not None:
                operation["responses"][status] = {
                    "description": "OK",
                    "content": {"application/json": {"schema": ref(meta.response)}},
                }
            elif meta and meta.produces:
                operation["responses"][status] = {
                    "description": "file",
                    "content": {meta.produces: {"schema": {"type": "string",
                                                           "format": "binary"}}},
                }
            else:
                operation["responses"][status] = {"description": "OK"}
            # Control characters in the path or query string are refused before any view
            # runs (api.reject_control_characters), so every operation can answer 400.
            error_statuses = set(meta.errors if meta else ()) | {400}
            if path_params:
                # A path segment the route's converter refuses matches no route at all.
                error_statuses.add(404)
            if any(p["schema"]["type"] == "integer" for p in path_params) and meta:
                # @api answers an id beyond the database's range with VALUE_OUT_OF_RANGE.
                error_statuses.add(422)
            declared = [(name, description, True) for name, description in meta.headers] + [
                (name, description, False) for name, description in meta.optional_headers
            ] if meta else []
            for name, description, needed in declared:
                operation["parameters"].append({"name": name, "in": "header",
                                                "required": needed,
                                                "description": description,
                                                "schema": {"type": "string"}})
            if meta and meta.query is not None:
                error_statuses.add(422)
                query_schema = meta.query.model_json_schema()
                required = set(query_schema.get("required", []))
                for name, prop in query_schema.get("properties", {}).items():
                    operation["parameters"].append({
                        "name": name, "in": "query", "required": name in required,
                        "schema": {k: v for k, v in prop.items() if k != "title"},
                        **({"description": prop["description"]} if "description" in prop else {}),
                    })
            if meta and meta.body is not None:
                operation["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": ref(meta.body)}},
                }
                error_statuses.update({400, 415, 422})
            if meta and (meta.form is not None or meta.files):
                form_schema = _multipart_schema(meta, schemas)
                operation["requestBody"] = {
                    "required": True,
                    "content": {"multipart/form-data": {"schema": form_schema}},
                }
                error_statuses.update({400, 413, 422})
            if roles is not None:
                operation["security"] = [{"bearerAuth": []}]
                operation["description"] = "\n\n".join(
                    part for part in (operation.get("description"),
                                      "Roles: " + ", ".join(roles)) if part)
                error_statuses.update({401, 403})
            for error_status in sorted(error_statuses):
                operation["responses"][str(error_status)] = {
                    "description": HTTP_ERRORS.get(error_status, ("", "error"))[1],
                    "content": {"application/json": {"schema": {
                        "$ref": "#/components/schemas/Error"}}},
                }
            paths.setdefault(path, {})[method.lower()] = operation

    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }
