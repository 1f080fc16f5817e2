"""The documents a registration needs, as the mini-program reads them: the intake's own table."""

from __future__ import annotations

from flask.testing import FlaskClient

from backend.registrations.materials import missing_uploads
from backend.registrations.models import Basis
from backend.uploads.models import UploadKind


def test_requirements_are_public_and_cacheable(client: FlaskClient) -> None:
    response = client.get("/api/v1/registrations/requirements")
    assert response.status_code == 200
    assert response.headers["Cache-Control"].startswith("public, max-age=")
    body = response.get_json()
    bases = {b["basis"]: b["documents"] for b in body["bases"]}
    assert list(bases) == ["hukou", "residence", "residence_permit"]
    # Residence: the household register, then a property certificate or a rental record.
    assert bases["residence"] == [
        [{"kind": "hukou_book", "name": "户口簿（户主页及儿童页）"}],
        [{"kind": "property_certificate", "name": "房产证或购房合同"},
         {"kind": "rental_record", "name": "房屋租赁备案证明"}],
    ]
    categories = {c["key"]: c for c in body["categories"]}
    assert categories["disability"]["required_documents"] == [
        {"kind": "disability_certificate", "name": "残疾证或残疾评估意见"}]
    assert set(body["document_kinds"]) == {kind.value for kind in UploadKind}


def test_requirements_are_what_the_intake_checks(client: FlaskClient) -> None:
    body = client.get("/api/v1/registrations/requirements").get_json()
    extras = {c["key"]: [d["kind"] for d in c["required_documents"]] for c in body["categories"]}
    for entry in body["bases"]:
        basis = Basis(entry["basis"])
        # With nothing uploaded, the intake asks for the first document of every group.
        first = [group[0]["kind"] for group in entry["documents"]]
        assert missing_uploads(basis, [], set()) == first
        # Any one document of a group fills it.
        have = {UploadKind(group[-1]["kind"]) for group in entry["documents"]}
        assert missing_uploads(basis, [], have) == []
        for key, kinds in extras.items():
            assert missing_uploads(basis, [key], have) == [k for k in kinds
                                                          if UploadKind(k) not in have]
