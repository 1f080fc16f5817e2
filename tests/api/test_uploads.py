"""Uploads: the type comes from the bytes, metadata is stripped, files are encrypted on disk,
and only the owner and the staff the document was submitted to can read it (404 otherwise)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import struct
import time
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import ExifTags, Image, ImageCms
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    TextStringObject,
)
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import TestResponse, encode_multipart

from backend.accounts.models import User
from backend.audit.models import AuditEvent
from backend.core.db import db
from backend.core.pii import cipher
from backend.identity.models import Child, DocumentType, Guardian, Relation, Sex
from backend.registrations.models import Basis, Registration, registration_uploads
from backend.schools.models import School
from backend.uploads import services
from backend.uploads.models import Upload
from tests.conftest import bearer
from tests.factories import (
    STAFF_PASSWORD,
    consent_for,
    make_authority,
    make_region,
    make_school,
    make_season,
    make_staff,
)

URL = "/api/v1/uploads"
RED, BLUE = (220, 20, 20), (20, 20, 220)


# --- fixtures and helpers ---------------------------------------------------------------


@pytest.fixture(autouse=True)
def upload_dir(app: Flask, tmp_path: Path) -> Iterator[Path]:
    """Every test stores its files in its own temporary folder, never in the repository."""
    previous = app.config["UPLOAD_DIR"]
    folder = tmp_path / "uploads"
    app.config["UPLOAD_DIR"] = str(folder)
    try:
        yield folder
    finally:
        app.config["UPLOAD_DIR"] = previous


def stored_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def jpeg_bytes(size: tuple[int, int] = (40, 20), *, exif: Image.Exif | None = None,
               **save: Any) -> bytes:
    """A JPEG whose left half is red and right half blue."""
    image = Image.new("RGB", size, RED)
    image.paste(BLUE, (size[0] // 2, 0, size[0], size[1]))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95, **({"exif": exif} if exif is not None else {}), **save)
    return out.getvalue()


def png_bytes(size: tuple[int, int] = (30, 30), mode: str = "RGB", **save: Any) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, "PNG", **save)
    return out.getvalue()


def pdf_bytes(pages: int = 1, *, dangerous: bool = False, password: str | None = None) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=200, height=200)
    if dangerous:
        writer.add_metadata({"/Author": "张三丰", "/Title": "户口簿-张三丰",
                             "/Producer": "SecretScanner 1.0"})
        document_script = DictionaryObject({
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("app.alert('document-level script');"),
        })
        writer._root_object[NameObject("/Names")] = DictionaryObject({
            NameObject("/JavaScript"): DictionaryObject({NameObject("/Names"): ArrayObject(
                [TextStringObject("startup"), writer._add_object(document_script)])}),
        })
        script = DictionaryObject({
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("app.alert('open action');"),
        })
        writer._root_object[NameObject("/OpenAction")] = script
        page = writer.pages[0]
        page[NameObject("/AA")] = DictionaryObject({NameObject("/O"): DictionaryObject({
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("app.alert('page-open script');"),
        })})
        rect = ArrayObject([FloatObject(10), FloatObject(10), FloatObject(90), FloatObject(40)])
        writer.add_annotation(0, DictionaryObject({
            NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Link"),
            NameObject("/Rect"): rect,
            NameObject("/A"): DictionaryObject({
                NameObject("/S"): NameObject("/URI"),
                NameObject("/URI"): TextStringObject("https://evil.example/link-target"),
            }),
        }))
        writer.add_annotation(0, DictionaryObject({
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Square"),
            NameObject("/Rect"): rect,
            NameObject("/A"): DictionaryObject({
                NameObject("/S"): NameObject("/JavaScript"),
                NameObject("/JS"): TextStringObject("app.alert('annotation script');"),
            }),
        }))
    if password is not None:
        writer.encrypt(user_password="", owner_password=password, algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares huge dimensions but carries (almost) no pixel data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def upload(client: FlaskClient, token: str, data: bytes, *, filename: str = "photo.jpg",
           content_type: str = "image/jpeg", kind: str | None = "hukou_book") -> TestResponse:
    form: dict[str, Any] = {
        "file": FileStorage(io.BytesIO(data), filename=filename, content_type=content_type)}
    if kind is not None:
        form["kind"] = kind
    # Encoded in memory: the test client spools big multipart bodies to a temporary file
    # that it never closes (a ResourceWarning, i.e. an error in this suite).
    boundary, body = encode_multipart(form)
    return client.post(URL, data=body, headers=bearer(token),
                       content_type=f"multipart/form-data; boundary={boundary}")


def error_code(response: TestResponse) -> str:
    return str(response.get_json()["error"]["code"])


def attach_to_registration(parent_user_id: int, school: School, upload_ids: list[str]) -> int:
    """A guardian, child and registration at `school` carrying the uploads (rows only)."""
    authority_id = school.authority_id
    authority = SimpleNamespace(id=authority_id)
    season = make_season(authority)  # type: ignore[arg-type]
    village = make_region(authority)  # type: ignore[arg-type]
    suffix = uuid.uuid4().hex
    guardian = db.session.scalar(select(Guardian).where(Guardian.user_id == parent_user_id))
    if guardian is None:
        fictional = f"guardian-fictional-{suffix}"
        guardian = Guardian(
            user_id=parent_user_id, name="测试家长", document_type=DocumentType.RESIDENT_ID,
            relation=Relation.MOTHER,
            id_number_enc=cipher().encrypt(fictional, "guardian.id_number"),
            id_number_index=cipher().blind_index(fictional, "guardian.id_number"),
        )
        db.session.add(guardian)
        db.session.flush()
    fictional = f"child-fictional-{suffix}"
    child = Child(
        guardian_id=guardian.id, name="测试儿童", document_type=DocumentType.RESIDENT_ID,
        id_number_enc=cipher().encrypt(fictional, "child.id_number"),
        id_number_index=cipher().blind_index(fictional, "child.id_number"),
        birth_date=dt.date(2018, 3, 1), sex=Sex.FEMALE, hukou_region_id=village.id,
        consent=consent_for(guardian.id),
    )
    db.session.add(child)
    db.session.flush()
    registration = Registration(
        season_id=season.id, child_id=child.id, school_id=school.id,
        submitted_by_user_id=parent_user_id, basis=Basis.HUKOU, ticket=f"t-{suffix[:20]}",
    )
    db.session.add(registration)
    db.session.flush()
    for upload_id in upload_ids:
        db.session.execute(registration_uploads.insert().values(
            registration_id=registration.id, upload_id=upload_id))
    db.session.flush()
    return registration.id


@pytest.fixture()
def parent(login_parent: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return login_parent()


def staff_token(login_staff: Callable[[str, str], dict[str, Any]], user: User) -> str:
    assert user.username is not None
    return str(login_staff(user.username, STAFF_PASSWORD)["token"])


# --- what is accepted, and what is stored -------------------------------------------------


def test_jpeg_loses_exif_and_gps_but_keeps_its_orientation(
    client: FlaskClient, session: Any, parent: dict[str, Any]
) -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # "rotate 90° clockwise to display"
    exif[ExifTags.Base.Make] = "SecretCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (39.0, 54.0, 15.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (116.0, 23.0, 30.0)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    original = jpeg_bytes((40, 20), exif=exif, icc_profile=icc, comment=b"secret comment",
                          xmp=b"<x:xmpmeta>secret-xmp</x:xmpmeta>")
    with Image.open(io.BytesIO(original)) as check:  # the fixture really carries all of it
        assert check.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert {"icc_profile", "comment", "xmp"} <= set(check.info)

    response = upload(client, parent["token"], original)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) == {"upload_id", "kind", "content_type", "sha256", "size"}
    assert body["kind"] == "hukou_book" and body["content_type"] == "image/jpeg"

    download = client.get(f"{URL}/{body['upload_id']}", headers=bearer(parent["token"]))
    assert download.status_code == 200
    data = download.data
    assert hashlib.sha256(data).hexdigest() == body["sha256"] and len(data) == body["size"]
    for secret in (b"SecretCam", b"secret comment", b"secret-xmp", b"Exif"):
        assert secret not in data
    with Image.open(io.BytesIO(data)) as stored:
        assert stored.format == "JPEG"
        assert len(stored.getexif()) == 0
        assert not {"exif", "icc_profile", "comment", "xmp"} & set(stored.info)
        # Rotated upright: 20 wide, 40 tall, the red (left) half now on top.
        assert stored.size == (20, 40)
        top, bottom = stored.convert("RGB").getpixel((10, 5)), stored.convert("RGB").getpixel(
            (10, 35))
        assert isinstance(top, tuple) and isinstance(bottom, tuple)
        assert top[0] > 150 > top[2] and bottom[2] > 150 > bottom[0]


def test_png_is_re_encoded_without_text_chunks(
    client: FlaskClient, session: Any, parent: dict[str, Any]
) -> None:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Author", "张三丰")
    info.add_itxt("Comment", "secret-itxt")
    original = png_bytes((30, 20), "RGBA", pnginfo=info)
    # A PNG sent with a PDF name and type is still a PNG: the bytes decide.
    response = upload(client, parent["token"], original, filename="scan.pdf",
                      content_type="application/pdf", kind="birth_certificate")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["content_type"] == "image/png" and body["kind"] == "birth_certificate"
    download = client.get(f"{URL}/{body['upload_id']}", headers=bearer(parent["token"]))
    assert download.headers["Content-Type"] == "image/png"
    assert download.headers["Content-Disposition"] == f'inline; filename="{body["upload_id"]}.png"'
    assert b"secret-itxt" not in download.data
    with Image.open(io.BytesIO(download.data)) as stored:
        assert stored.format == "PNG" and stored.size == (30, 20)
        assert stored.text == {}  # type: ignore[attr-defined]


def test_pdf_keeps_its_pages_and_loses_metadata_and_scripts(
    client: FlaskClient, session: Any, parent: dict[str, Any]
) -> None:
    original = pdf_bytes(2, dangerous=True)
    assert PdfReader(io.BytesIO(original)).metadata is not None
    response = upload(client, parent["token"], original, filename="house.pdf",
                      content_type="application/pdf", kind="property_certificate")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["content_type"] == "application/pdf"
    download = client.get(f"{URL}/{body['upload_id']}", headers=bearer(parent["token"]))
    assert download.status_code == 200
    data = download.data
    assert hashlib.sha256(data).hexdigest() == body["sha256"]
    for secret in (b"SecretScanner", b"app.alert", b"evil.example", b"JavaScript"):
        assert secret not in data
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 2
    assert reader.metadata is None
    root = reader.root_object
    assert "/OpenAction" not in root and "/Names" not in root
    first = reader.pages[0]
    assert "/AA" not in first
    annotations = [a.get_object() for a in first.get("/Annots", [])]
    assert [a["/Subtype"] for a in annotations] == ["/Square"]
    assert "/A" not in annotations[0]


def test_file_on_disk_is_encrypted_under_a_random_sharded_name(
    client: FlaskClient, session: Any, parent: dict[str, Any], upload_dir: Path
) -> None:
    for original, magic in ((jpeg_bytes(), b"\xff\xd8"), (png_bytes(), b"\x89PNG"),
                            (pdf_bytes(), b"%PDF")):
        body = upload(client, parent["token"], original).get_json()
        row = db.session.get(Upload, body["upload_id"])
        assert row is not None and row.storage_name is not None
        assert row.storage_name != body["upload_id"]
        path = upload_dir / row.storage_name[:2] / row.storage_name
        assert len(row.storage_name) == 32 and int(row.storage_name, 16) >= 0
        blob = path.read_bytes()
        plain = client.get(f"{URL}/{body['upload_id']}", headers=bearer(parent["token"])).data
        assert not blob.startswith(magic) and magic not in blob[:64]
        assert plain not in blob and plain[:32] not in blob
        assert hashlib.sha256(plain).hexdigest() == row.sha256 == body["sha256"]
    # Nothing else was left behind (no temporary files).
    assert len(stored_files(upload_dir)) == 3


def test_very_large_photos_are_scaled_down(
    client: FlaskClient, session: Any, parent: dict[str, Any]
) -> None:
    response = upload(client, parent["token"], jpeg_bytes((4200, 1400)))
    assert response.status_code == 201, response.get_json()
    data = client.get(f"{URL}/{response.get_json()['upload_id']}",
                      headers=bearer(parent["token"])).data
    with Image.open(io.BytesIO(data)) as stored:
        assert stored.size == (3000, 1000)


@pytest.mark.parametrize("payload", [
    pytest.param(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + bytes(500), id="exe"),
    pytest.param(b"<!DOCTYPE html><html><script>alert(1)</script></html>", id="html"),
    pytest.param(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", id="gif"),
    pytest.param(b"%PDF-1.7\nnot really a pdf", id="fake-pdf"),
    pytest.param(b"\x89PNG\r\n\x1a\n" + bytes(100), id="fake-png"),
    pytest.param(jpeg_bytes((64, 64))[:300], id="truncated-jpeg"),
    pytest.param(jpeg_bytes((3600, 1200))[:20000], id="truncated-large-jpeg"),
])
def test_anything_but_jpeg_png_or_pdf_is_refused_whatever_its_name(
    client: FlaskClient, session: Any, parent: dict[str, Any], upload_dir: Path, payload: bytes
) -> None:
    response = upload(client, parent["token"], payload, filename="photo.jpg",
                      content_type="image/jpeg")
    assert response.status_code == 415
    assert response.get_json()["error"] == {
        "code": "UPLOAD_TYPE_NOT_ALLOWED", "message": "仅支持 JPG、PNG 图片或 PDF 文件"}
    assert stored_files(upload_dir) == []


def test_zip_renamed_to_pdf_is_refused(
    client: FlaskClient, session: Any, parent: dict[str, Any]
) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("photo.jpg", jpeg_bytes())
    response = upload(client, parent["token"], archive.getvalue(), filename="scan.pdf",
                      content_type="application/pdf")
    assert response.status_code == 415 and error_code(response) == "UPLOAD_TYPE_NOT_ALLOWED"


@pytest.mark.parametrize("size", [(8000, 6000), (10_000, 10_000), (20_000, 10_000)],
                         ids=["over-our-limit", "pillow-warning", "pillow-error"])
def test_decompression_bombs_are_refused(
    client: FlaskClient, session: Any, parent: dict[str, Any], size: tuple[int, int]
) -> None:
    response = upload(client, parent["token"], png_header_only(*size), filename="a.png")
    assert response.status_code == 422
    assert error_code(response) == "UPLOAD_IMAGE_TOO_LARGE"


def test_encrypted_and_overlong_pdfs_are_refused(
    client: FlaskClient, session: Any, parent: dict[str, Any]
) -> None:
    encrypted = upload(client, parent["token"], pdf_bytes(password="owner-secret"),
                       filename="a.pdf", content_type="application/pdf")
    assert encrypted.status_code == 422
    assert encrypted.get_json()["error"] == {"code": "UPLOAD_PDF_ENCRYPTED",
                                             "message": "请上传未加密的 PDF"}
    too_long = upload(client, parent["token"], pdf_bytes(31), filename="a.pdf")
    assert too_long.status_code == 422 and error_code(too_long) == "UPLOAD_PDF_TOO_MANY_PAGES"
    assert upload(client, parent["token"], pdf_bytes(30), filename="a.pdf").status_code == 201


def test_oversized_upload_is_refused_with_the_limit_in_mb(
    app: Flask, client: FlaskClient, session: Any, parent: dict[str, Any], upload_dir: Path
) -> None:
    previous = app.config["UPLOAD_MAX_BYTES"], app.config["MAX_CONTENT_LENGTH"]
    app.config["UPLOAD_MAX_BYTES"] = 512 * 1024
    try:
        big = jpeg_bytes((64, 64)) + os.urandom(600 * 1024)
        response = upload(client, parent["token"], big)
        assert response.status_code == 413
        error = response.get_json()["error"]
        assert error["code"] == "UPLOAD_TOO_LARGE" and "0.5 MB" in error["message"]
        assert error["details"] == {"max_bytes": 512 * 1024}
        # Bigger than a whole request may be (MAX_CONTENT_LENGTH): refused before parsing.
        # (The app-wide before_request that reads form fields answers first, with its
        # generic PAYLOAD_TOO_LARGE; the uploads route would answer UPLOAD_TOO_LARGE.)
        app.config["MAX_CONTENT_LENGTH"] = 550 * 1024
        response = upload(client, parent["token"], big)
        assert response.status_code == 413
        assert error_code(response) in {"UPLOAD_TOO_LARGE", "PAYLOAD_TOO_LARGE"}
    finally:
        app.config["UPLOAD_MAX_BYTES"], app.config["MAX_CONTENT_LENGTH"] = previous
    assert stored_files(upload_dir) == []


def test_empty_missing_or_badly_labelled_files_are_refused(
    client: FlaskClient, session: Any, parent: dict[str, Any]
) -> None:
    empty = upload(client, parent["token"], b"")
    assert empty.status_code == 422 and error_code(empty) == "UPLOAD_EMPTY"

    bad_kind = upload(client, parent["token"], jpeg_bytes(), kind="passport_photo")
    assert bad_kind.status_code == 422
    assert bad_kind.get_json()["error"]["code"] == "VALIDATION_FAILED"
    assert [f["field"] for f in bad_kind.get_json()["error"]["details"]["fields"]] == ["kind"]

    no_file = client.post(URL, data={"kind": "hukou_book"}, headers=bearer(parent["token"]),
                          content_type="multipart/form-data")
    assert no_file.status_code == 422 and error_code(no_file) == "VALIDATION_FAILED"
    assert no_file.get_json()["error"]["details"]["fields"][0]["field"] == "file"

    nothing = client.post(URL, json={}, headers=bearer(parent["token"]))
    assert nothing.status_code == 422
    fields = {f["field"] for f in nothing.get_json()["error"]["details"]["fields"]}
    assert fields == {"kind", "file"}


def test_only_parents_upload(client: FlaskClient, session: Any,
                             login_staff: Callable[[str, str], dict[str, Any]]) -> None:
    assert client.post(URL).status_code == 401
    authority = make_authority()
    token = staff_token(login_staff, make_staff(authority, school=make_school(authority)))
    assert upload(client, token, jpeg_bytes()).status_code == 403


# --- who may read --------------------------------------------------------------------


def test_download_headers_and_meta(
    client: FlaskClient, session: Any, parent: dict[str, Any]
) -> None:
    body = upload(client, parent["token"], jpeg_bytes()).get_json()
    download = client.get(f"{URL}/{body['upload_id']}", headers=bearer(parent["token"]))
    assert download.headers["Content-Type"] == "image/jpeg"
    assert download.headers["Content-Disposition"] == (
        f'inline; filename="{body["upload_id"]}.jpg"')
    assert download.headers["Cache-Control"] == "private, no-store"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    meta = client.get(f"{URL}/{body['upload_id']}/meta", headers=bearer(parent["token"]))
    assert meta.status_code == 200 and meta.get_json() == body
    # The owner reading their own document is not an audited access.
    assert db.session.scalar(select(AuditEvent).where(
        AuditEvent.object_id == body["upload_id"])) is None


def test_another_parent_and_unknown_ids_get_404(
    client: FlaskClient, session: Any, login_parent: Callable[..., dict[str, Any]]
) -> None:
    owner, other = login_parent(), login_parent()
    upload_id = upload(client, owner["token"], jpeg_bytes()).get_json()["upload_id"]
    unknown = uuid.uuid4().hex
    for path in (f"{URL}/{upload_id}", f"{URL}/{upload_id}/meta"):
        response = client.get(path, headers=bearer(other["token"]))
        assert response.status_code == 404 and error_code(response) == "UPLOAD_NOT_FOUND"
    mine_elsewhere = client.delete(f"{URL}/{upload_id}", headers=bearer(other["token"]))
    for response in (client.get(f"{URL}/{unknown}", headers=bearer(other["token"])),
                     client.get(f"{URL}/not-an-id", headers=bearer(other["token"])),
                     client.get(f"{URL}/{unknown}/meta", headers=bearer(owner["token"])),
                     mine_elsewhere):
        assert response.status_code == 404
        assert response.get_json() == client.get(
            f"{URL}/{upload_id}", headers=bearer(other["token"])).get_json()
    assert client.get(f"{URL}/{upload_id}").status_code == 401


def test_staff_and_admins_read_only_what_was_submitted_to_them(
    client: FlaskClient, session: Any, parent: dict[str, Any],
    login_staff: Callable[[str, str], dict[str, Any]],
) -> None:
    authority, elsewhere = make_authority(), make_authority()
    school, neighbour = make_school(authority), make_school(authority)
    submitted = upload(client, parent["token"], jpeg_bytes()).get_json()["upload_id"]
    kept_back = upload(client, parent["token"], png_bytes()).get_json()["upload_id"]
    attach_to_registration(parent["user"]["id"], school, [submitted])

    reviewer = make_staff(authority, school=school)
    tokens = {
        "reviewer": staff_token(login_staff, reviewer),
        "neighbour": staff_token(login_staff, make_staff(authority, school=neighbour)),
        "admin": staff_token(login_staff, make_staff(authority)),
        "other_admin": staff_token(login_staff, make_staff(elsewhere)),
        "other_staff": staff_token(
            login_staff, make_staff(elsewhere, school=make_school(elsewhere))),
    }
    expected = {"reviewer": 200, "admin": 200, "neighbour": 404, "other_admin": 404,
                "other_staff": 404}
    for who, status in expected.items():
        for path in (f"{URL}/{submitted}", f"{URL}/{submitted}/meta"):
            assert client.get(path, headers=bearer(tokens[who])).status_code == status, who
        # Not submitted anywhere: nobody but the owner sees it.
        assert client.get(f"{URL}/{kept_back}", headers=bearer(tokens[who])).status_code == 404
    # Staff cannot delete a parent's document.
    assert client.delete(f"{URL}/{submitted}",
                         headers=bearer(tokens["reviewer"])).status_code == 403

    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "upload.view").order_by(AuditEvent.id)).all()
    assert [(e.actor_user_id, e.actor_role, e.object_type, e.object_id) for e in events] == [
        (reviewer.id, "school_staff", "upload", submitted),
        (events[1].actor_user_id, "bureau_admin", "upload", submitted),
    ]
    assert events[0].details == {"kind": "hukou_book"}


def test_a_file_moved_onto_another_upload_does_not_decrypt(
    client: FlaskClient, session: Any, parent: dict[str, Any], upload_dir: Path
) -> None:
    first = upload(client, parent["token"], jpeg_bytes()).get_json()["upload_id"]
    second = upload(client, parent["token"], png_bytes()).get_json()["upload_id"]
    paths = []
    for upload_id in (first, second):
        row = db.session.get(Upload, upload_id)
        assert row is not None and row.storage_name is not None
        paths.append(upload_dir / row.storage_name[:2] / row.storage_name)
    paths[1].write_bytes(paths[0].read_bytes())
    assert client.get(f"{URL}/{second}", headers=bearer(parent["token"])).status_code == 404
    assert client.get(f"{URL}/{first}", headers=bearer(parent["token"])).status_code == 200


# --- deleting, purging, cleaning up ----------------------------------------------------


def test_owner_deletes_an_unsubmitted_upload(
    client: FlaskClient, session: Any, parent: dict[str, Any], upload_dir: Path
) -> None:
    upload_id = upload(client, parent["token"], jpeg_bytes()).get_json()["upload_id"]
    assert len(stored_files(upload_dir)) == 1
    response = client.delete(f"{URL}/{upload_id}", headers=bearer(parent["token"]))
    assert response.status_code == 204 and response.data == b""
    assert stored_files(upload_dir) == []
    assert client.get(f"{URL}/{upload_id}", headers=bearer(parent["token"])).status_code == 404
    assert client.delete(f"{URL}/{upload_id}", headers=bearer(parent["token"])).status_code == 404


def test_a_submitted_upload_cannot_be_deleted(
    client: FlaskClient, session: Any, parent: dict[str, Any], upload_dir: Path
) -> None:
    authority = make_authority()
    upload_id = upload(client, parent["token"], jpeg_bytes()).get_json()["upload_id"]
    attach_to_registration(parent["user"]["id"], make_school(authority), [upload_id])
    response = client.delete(f"{URL}/{upload_id}", headers=bearer(parent["token"]))
    assert response.status_code == 409
    assert response.get_json()["error"] == {"code": "UPLOAD_IN_USE",
                                            "message": "该材料已随报名提交，不能删除"}
    assert len(stored_files(upload_dir)) == 1
    assert client.get(f"{URL}/{upload_id}", headers=bearer(parent["token"])).status_code == 200


def test_purge_removes_the_file_and_every_reader_gets_404(
    client: FlaskClient, session: Any, parent: dict[str, Any], upload_dir: Path,
    login_staff: Callable[[str, str], dict[str, Any]],
) -> None:
    authority = make_authority()
    school = make_school(authority)
    upload_id = upload(client, parent["token"], pdf_bytes()).get_json()["upload_id"]
    attach_to_registration(parent["user"]["id"], school, [upload_id])
    reviewer = staff_token(login_staff, make_staff(authority, school=school))
    assert client.get(f"{URL}/{upload_id}", headers=bearer(reviewer)).status_code == 200

    row = db.session.get(Upload, upload_id)
    assert row is not None
    services.purge_upload(row)
    db.session.flush()
    assert row.storage_name is None and row.purged_at is not None
    assert row.sha256 and row.size  # anonymous facts stay for the statistics
    assert stored_files(upload_dir) == []
    for token in (parent["token"], reviewer):
        for path in (f"{URL}/{upload_id}", f"{URL}/{upload_id}/meta"):
            response = client.get(path, headers=bearer(token))
            assert response.status_code == 404 and error_code(response) == "UPLOAD_NOT_FOUND"
    assert client.delete(f"{URL}/{upload_id}", headers=bearer(parent["token"])).status_code == 404


def test_sweep_removes_only_old_files_without_a_row(
    client: FlaskClient, session: Any, parent: dict[str, Any], upload_dir: Path
) -> None:
    upload_id = upload(client, parent["token"], jpeg_bytes()).get_json()["upload_id"]
    row = db.session.get(Upload, upload_id)
    assert row is not None and row.storage_name is not None
    kept = upload_dir / row.storage_name[:2] / row.storage_name

    def place(relative: str, *, age: dt.timedelta) -> Path:
        path = upload_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"k1\n" + os.urandom(64))
        stamp = time.time() - age.total_seconds()
        os.utime(path, (stamp, stamp))
        return path

    old, recent = dt.timedelta(days=2), dt.timedelta(minutes=1)
    orphan_name, fresh_name = uuid.uuid4().hex, uuid.uuid4().hex
    orphan = place(f"{orphan_name[:2]}/{orphan_name}", age=old)
    fresh_orphan = place(f"{fresh_name[:2]}/{fresh_name}", age=recent)
    half_written = place("ab/.partial-x1y2z3", age=old)  # an interrupted write
    not_ours = [place("ab/notes.txt", age=old), place("README", age=old),
                place(f"zz/{uuid.uuid4().hex}", age=old)]
    stamp = time.time() - old.total_seconds()
    os.utime(kept, (stamp, stamp))

    assert services.sweep_orphan_files(dt.timedelta(hours=1)) == 2
    assert not orphan.exists() and not half_written.exists()
    assert kept.exists() and fresh_orphan.exists() and all(p.exists() for p in not_ours)
    assert client.get(f"{URL}/{upload_id}", headers=bearer(parent["token"])).status_code == 200


def test_a_failed_insert_leaves_no_file_behind(
    client: FlaskClient, session: Any, parent: dict[str, Any], upload_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    existing = upload(client, parent["token"], jpeg_bytes()).get_json()["upload_id"]
    # The next upload gets the same id: the database refuses the row.
    monkeypatch.setattr(services, "secrets", SimpleNamespace(token_hex=lambda _n: existing))
    response = upload(client, parent["token"], png_bytes())
    assert response.status_code in (409, 500)  # a refused insert, whatever the wrapper says
    assert len(stored_files(upload_dir)) == 1


def test_a_failure_after_the_insert_leaves_no_file_behind(
    client: FlaskClient, session: Any, parent: dict[str, Any], upload_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import backend.uploads.routes

    def failing(_upload: Upload) -> None:
        raise RuntimeError("serialisation failed after the row was flushed")

    # The row is flushed but the request fails before its commit: the transaction rolls
    # back, and the request's teardown removes the file.
    monkeypatch.setattr(backend.uploads.routes, "upload_out", failing)
    response = upload(client, parent["token"], jpeg_bytes())
    assert response.status_code == 500
    assert stored_files(upload_dir) == []
    assert db.session.scalar(select(Upload).where(
        Upload.owner_user_id == parent["user"]["id"])) is None
