"""A registration's own PC page over HTTP (docs/PC.md): it needs a parent's session and
sends the PC page headers; signed in, it carries the session's CSRF token, its script and
the confirmation dialog, and the signed-in pages no longer send the family to the
mini-program for the fix and the results; the fix it sends (PATCH with the web session)
needs that token. The browser side is tests/console/test_browser_pc_results.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from backend.core.db import db
from backend.registrations.models import Registration, RegistrationStatus
from tests.api.test_pc_journey import new_pc, sign_in
from tests.reviews import _support as reviews


def test_the_registration_page_needs_the_parents_session(client: FlaskClient,
                                                         session: Any) -> None:
    # The headers of every PC page: tests/portal/test_pc_login_pages.py.
    response = client.get("/pc/registrations/999999")
    assert response.status_code == 302 and response.headers["Location"] == "/pc/login"
    assert client.get("/pc/registrations/abc").status_code == 404


def test_the_signed_in_parent_gets_the_page_its_script_and_the_dialog(
        app: Flask, client: FlaskClient, session: Any, wechat_sim: Any) -> None:
    pc = new_pc(app)
    parent = client.post("/api/v1/auth/wechat-login",
                         json={"code": wechat_sim.login_code("o-pc-results-page")}).get_json()
    csrf = sign_in(pc, client, parent)

    response = pc.get("/pc/registrations/7")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'<meta name="csrf-token" content="{csrf}">' in html
    assert "/portal/static/pc/registration.js" in html
    assert '<dialog id="pc-confirm"' in html and "重新提交" in html and "打印本页" in html
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "https://" not in html
    script = pc.get("/portal/static/pc/registration.js")
    assert script.status_code == 200
    script.close()

    # The fix and the results are on the PC now: no page sends the family to the phone.
    for page in ("/pc/", "/pc/registrations"):
        text = pc.get(page).get_data(as_text=True)
        assert "修改材料和查看录取结果，现在请在微信小程序中办理" not in text
        assert "按学校要求修改材料、查看录取结果" not in text
    assert "录取结果、确认学位和分班结果" in pc.get("/pc/").get_data(as_text=True)


def test_the_fix_sent_from_the_pc_needs_the_pages_token(
        app: Flask, client: FlaskClient, session: Any,
        login_staff: Callable[[str, str], dict[str, Any]],
        login_parent: Callable[..., dict[str, Any]]) -> None:
    county = reviews.build_county(login_staff)
    family = reviews.make_family(client, login_parent, county)
    first = reviews.upload(client, family)
    registration_id = reviews.submit(client, family, county.school_a, [first])
    seen = reviews.detail(client, county, "a", registration_id).get_json()
    returned = reviews.review(client, county, "a", registration_id, decision="return",
                              reason_code="PHOTO_BLURRY", expected_status="submitted",
                              expected_version=seen["version"])
    assert returned.status_code == 200, returned.get_json()
    pc = new_pc(app)
    csrf = sign_in(pc, client, {"token": family.token})
    clear = reviews.upload(client, family, color=(10, 120, 40))
    body = {"basis": "hukou", "upload_ids": [clear]}

    forged = pc.patch(f"/api/v1/registrations/{registration_id}", json=body,
                      headers={"Idempotency-Key": "pc-fix-00000001"})
    assert forged.status_code == 403, forged.get_json()
    sent = pc.patch(f"/api/v1/registrations/{registration_id}", json=body,
                    headers={"Idempotency-Key": "pc-fix-00000001", "X-CSRF-Token": csrf})
    assert sent.status_code == 202, sent.get_json()
    reviews.worker().run_once()
    ticket = pc.get(f"/api/v1/registrations/tickets/{sent.get_json()['ticket']}").get_json()
    assert ticket["state"] == "accepted" and ticket["registration_id"] == registration_id
    db.session.expire_all()
    registration = db.session.get(Registration, registration_id)
    assert registration is not None and registration.status is RegistrationStatus.SUBMITTED
    assert [u.id for u in registration.uploads] == [clear]
