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


# The paths the mini-program, the web pages and outside checks rely on (shared API.md).
CONTRACT = [
    ("get", "/healthz"), ("get", "/readyz"),
    ("post", "/api/v1/auth/wechat-login"), ("post", "/api/v1/auth/staff-login"),
    ("post", "/api/v1/auth/logout"), ("get", "/api/v1/me"),
    ("post", "/api/v1/me/identity"), ("post", "/api/v1/me/children"),
    ("get", "/api/v1/me/children"), ("patch", "/api/v1/me/children/{child_id}"),
    ("get", "/api/v1/seasons/current"), ("get", "/api/v1/regions"),
    ("get", "/api/v1/schools"), ("get", "/api/v1/schools/{code}"),
    ("get", "/api/v1/zones/lookup"), ("post", "/api/v1/uploads"),
]


def test_the_published_contract_is_served(client: FlaskClient) -> None:
    paths = _document(client)["paths"]
    assert [f"{m} {p}" for m, p in CONTRACT if m not in paths.get(p, {})] == []


def test_every_api_route_goes_through_the_validating_decorator(app: Flask) -> None:
    # @api is what validates input, commits once and feeds this document.
    bare = [rule.rule for rule in app.url_map.iter_rules()
            if rule.rule.startswith("/api/v1/") and rule.endpoint != "openapi"
            and not hasattr(app.view_functions[rule.endpoint], "_api_meta")]
    assert bare == []


def test_json_operations_describe_their_response(client: FlaskClient) -> None:
    document = _document(client)
    undescribed = []
    for path, operations in document["paths"].items():
        if not path.startswith("/api/v1/") or path == "/api/v1/openapi.json":
            continue
        for method, operation in operations.items():
            ok = [s for s in operation["responses"] if s.startswith("2")]
            described = any("content" in operation["responses"][s] or s == "204" for s in ok)
            if not described:
                undescribed.append(f"{method} {path}")
    assert undescribed == []


def test_uploads_describe_their_multipart_body(client: FlaskClient) -> None:
    document = _document(client)
    body = document["paths"]["/api/v1/uploads"]["post"]["requestBody"]
    schema = body["content"]["multipart/form-data"]["schema"]
    # One object: an allOf with the form model (which forbids extra fields) would forbid
    # the very file part it requires, and no request could match.
    assert schema["properties"]["file"] == {"type": "string", "format": "binary"}
    assert schema["properties"]["kind"]["$ref"].endswith("/UploadKind")
    assert sorted(schema["required"]) == ["file", "kind"]
    assert schema["additionalProperties"] is False
    imports = document["paths"]["/api/v1/admin/imports/{kind}"]["post"]["requestBody"]
    schema = imports["content"]["multipart/form-data"]["schema"]
    assert set(schema["properties"]) == {"dry_run", "file"} and schema["required"] == ["file"]


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


def test_answers_every_operation_can_give_are_documented(client: FlaskClient) -> None:
    # Control characters are refused (400) before any view runs; a path segment its converter
    # refuses is 404; an id beyond the database's 32-bit range is 422 VALUE_OUT_OF_RANGE.
    paths = _document(client)["paths"]
    assert all("400" in op["responses"] for ops in paths.values() for op in ops.values())
    complaint = paths["/api/v1/admin/complaints/{complaint_id}"]["get"]
    assert {"404", "422"} <= set(complaint["responses"])
    assert complaint["parameters"][0]["schema"] == {"type": "integer", "minimum": 0,
                                                    "maximum": 2**31 - 1}
    school = paths["/api/v1/schools/{code}"]["get"]
    assert "404" in school["responses"] and "422" not in school["responses"]


def test_validated_constraints_are_in_the_document(client: FlaskClient) -> None:
    schemas = _document(client)["components"]["schemas"]
    results = schemas["SubscriptionsIn"]["properties"]["results"]
    assert set(results["propertyNames"]["enum"]) >= {"review_result", "announcement"}
    ids = schemas["TogetherRequestIn"]["properties"]["registration_ids"]
    assert ids["uniqueItems"] is True
    assert (ids["items"]["minimum"], ids["items"]["maximum"]) == (1, 2_000_000_000)


def test_the_review_requirements_and_the_batch_approval_are_described(
        client: FlaskClient) -> None:
    document = _document(client)
    batch = document["paths"]["/api/v1/admin/registrations/batch-approve"]["post"]
    assert {"200", "401", "403", "404", "409", "422"} <= set(batch["responses"])
    assert "Idempotency-Key" in {p["name"] for p in batch.get("parameters", [])}
    schemas = document["components"]["schemas"]
    detail = schemas["StaffRegistrationDetail"]["properties"]
    assert "requirements" in detail
    state = schemas["RequirementOut"]["properties"]["state"]
    assert set(state["enum"]) == {"verified", "uploaded", "missing"}
    listing = document["paths"]["/api/v1/staff/registrations"]["get"]
    assert "verified" in {p["name"] for p in listing["parameters"]}
    for code in ("SCHOOL_NOT_FOUND", "SEASON_NOT_FOUND", "IDEMPOTENCY_KEY_INVALID"):
        assert code in batch["description"]


def test_the_data_check_endpoints_name_their_error_codes(client: FlaskClient) -> None:
    paths = _document(client)["paths"]
    ask = paths["/api/v1/me/children/{child_id}/data-checks"]["post"]
    assert {"202", "404", "409", "422"} <= set(ask["responses"])
    for code in ("DATA_CHECK_CONSENT_REQUIRED", "DATA_CHECK_CONSENT_OUTDATED",
                 "CHILD_NOT_FOUND"):
        assert code in ask["description"]
    assert ask["description"].endswith("Roles: parent")
    view = paths["/api/v1/me/children/{child_id}/data-checks"]["get"]
    assert "CHILD_NOT_FOUND" in view["description"] and "404" in view["responses"]
    requirements = paths["/api/v1/registrations/requirements"]["get"]
    assert {p["name"] for p in requirements["parameters"]} == {"child_id"}
    assert "security" not in requirements  # public without child_id
    assert "/api/v1/privacy/data-check-consent-text" in paths
