"""The OpenAPI document describes every route, from the same models that validate requests."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

_CONVERTER = re.compile(r"<(?:[a-z]+(?:\([^)]*\))?:)?(\w+)>")


def _document(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()  # type: ignore[no-any-return]


def test_every_registered_route_is_documented(app: Flask, client: FlaskClient) -> None:
    paths = _document(client)["paths"]
    missing = []
    for rule in app.url_map.iter_rules():
        path = _CONVERTER.sub(r"{\1}", rule.rule)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            if method.lower() not in paths.get(path, {}):
                missing.append(f"{method} {path}")
    assert missing == []


def test_every_schema_reference_resolves(client: FlaskClient) -> None:
    document = _document(client)
    schemas = document["components"]["schemas"]
    refs = re.findall(r'"#/components/schemas/([^"]+)"', str(document).replace("'", '"'))
    assert refs
    assert sorted(set(refs) - set(schemas)) == []


def test_request_bodies_and_auth_are_described(client: FlaskClient) -> None:
    document = _document(client)
    login = document["paths"]["/api/v1/auth/wechat-login"]["post"]
    body_ref = login["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body_ref.endswith("/WeChatLoginIn")
    assert document["components"]["schemas"]["WeChatLoginIn"]["properties"]["code"]["maxLength"]
    assert {"200", "401", "422", "503"} <= set(login["responses"])
    me = document["paths"]["/api/v1/me"]["get"]
    assert me["security"] == [{"bearerAuth": []}]
    schools = document["paths"]["/api/v1/schools"]["get"]
    assert {p["name"] for p in schools["parameters"]} >= {"town", "authority"}
    detail = document["paths"]["/api/v1/schools/{code}"]["get"]
    assert detail["parameters"][0] == {"name": "code", "in": "path", "required": True,
                                       "schema": {"type": "string"}}
