"""A parent's journey on a PC in a browser (docs/PC.md), with the console's harness: the PC
sign-in's code scanned and confirmed through the API as the phone, with the WeChat phone
code of the simulator; then 实名登记 on the PC with that phone (no second scan), a child
added with the guardian's consent, recorded with channel `pc`, and a registration submitted
with a document uploaded from the PC, its ticket followed until accepted. The database is
checked at each step."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Page, expect
from sqlalchemy import select

from backend.accounts.models import User
from backend.core.db import db, utcnow
from backend.core.redis import redis_store
from backend.identity.consent import CONSENT_VERSION
from backend.identity.models import Child, ConsentChannel, DocumentType, Guardian, Sex
from backend.identity.serializers import guardian_out
from backend.registrations import facts
from backend.registrations.models import Basis, Registration, RegistrationStatus
from backend.schools.models import RegionLevel
from backend.uploads.models import Upload, UploadKind
from tests.conftest import Simulator
from tests.console._support import Console, document_png, pc_login_phone, scene_on_screen
from tests.factories import (
    make_authority,
    make_child,
    make_guardian,
    make_id_number,
    make_region,
    make_school,
    make_season,
    make_seat_plan,
)
from tests.proxy._support import drain

Login = Callable[..., dict[str, Any]]
GUARDIAN_ID = make_id_number(dt.date(1988, 6, 15), 951, male=False)


@pytest.fixture()
def county(app: Flask, session: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The deployment's county with an open season, a town, a village and its zoned school."""
    authority = make_authority(name="示例县教育局")
    monkeypatch.setitem(app.config, "DEFAULT_AUTHORITY", authority.code)
    now = utcnow()
    season = make_season(authority, year=now.year + 1, opens=now - dt.timedelta(hours=1),
                         closes=now + dt.timedelta(days=3))
    season.must_read_notice = "今年户口簿须提供户主页。"
    town = make_region(authority, name="临泉镇")
    village = make_region(authority, level=RegionLevel.VILLAGE, parent=town, name="示例一村")
    school = make_school(authority, zone=[village], name="临泉镇第一小学")
    make_seat_plan(season, school)
    make_school(authority, name="示例县实验小学")
    return {"authority": authority, "village": village, "school": school, "year": now.year + 1}


def guardian_of(user_id: int) -> Guardian | None:
    return db.session.scalar(select(Guardian).where(Guardian.user_id == user_id))


def sign_in_bound(page: Page, client: FlaskClient, console: Console, login_parent: Login,
                  name: str, family: Callable[[Guardian], Any] = lambda g: g) -> Any:
    """A parent already bound to `name`, signed in on this page by scanning its code and
    confirming through the API as the phone would; returns what `family` (given the
    guardian, adding children...) returns."""
    with console.exclusive():
        parent = login_parent()
        guardian = make_guardian(db.session.get(User, parent["user"]["id"]), name=name)
        found = family(guardian)
        db.session.commit()
    page.goto(console.url + "/pc/login")
    scene = scene_on_screen(page)
    pc_login_phone(client, console, parent["token"], "scan", scene=scene)
    pc_login_phone(client, console, parent["token"], "confirm", scene=scene, decision="confirm")
    page.wait_for_url(console.url + "/pc/")
    return found


def drain_until_accepted(page: Page, console: Console) -> None:
    """The worker drains the queue until the page's ticket says 报名已受理."""
    for _ in range(20):
        with console.exclusive():
            drain()
        if page.locator("#pc-ticket-state").text_content() == "报名已受理":
            break
        page.wait_for_timeout(500)
    expect(page.locator("#pc-ticket-state")).to_have_text("报名已受理")


@pytest.mark.slow
def test_a_parent_registers_on_the_pc_from_one_scan_to_an_accepted_ticket(
        client: FlaskClient, console: Console, office_page: Page, shots: Any,
        county: dict[str, Any], login_parent: Login, wechat_sim: Simulator) -> None:
    page = office_page
    with console.exclusive():
        openid = "o-pc-journey-1"
        parent = login_parent(openid)
        phone_code = wechat_sim.post("/sim/phone-code", openid=openid,
                                     phone="13812345678")["code"]
    user_id = parent["user"]["id"]

    # The phone: scan, see that the account has no binding, confirm with the phone's code.
    page.goto(console.url + "/pc/login")
    scene = scene_on_screen(page)
    scanned = pc_login_phone(client, console, parent["token"], "scan", scene=scene)
    assert scanned["identity_bound"] is False
    pc_login_phone(client, console, parent["token"], "confirm", scene=scene,
                   decision="confirm", phone_code=phone_code)
    page.wait_for_url(console.url + "/pc/")
    expect(page.locator("#pc-user-name")).to_contain_text("尚未实名登记")
    with console.exclusive():
        assert redis_store.client.exists(redis_store.key("pc-phone", user_id))
        assert guardian_of(user_id) is None

    # 实名登记 on the PC: no phone code from the browser, the kept phone is bound.
    page.get_by_role("link", name="实名登记").first.click()
    page.wait_for_url(console.url + "/pc/identity")
    form = page.locator("#pc-identity-form")
    expect(form).to_be_visible()
    form.get_by_label("姓名").fill("王示例")
    form.get_by_label("证件号码").fill(GUARDIAN_ID[:-1] + ("0" if GUARDIAN_ID[-1] != "0" else "1"))
    form.get_by_label("与孩子的关系").select_option("mother")
    page.get_by_role("button", name="提交实名信息").click()
    # A rule of the API, shown next to its field.
    expect(form.locator(".field-error")).to_contain_text("校验")
    form.get_by_label("证件号码").fill(GUARDIAN_ID)
    page.get_by_role("button", name="提交实名信息").click()
    expect(page.locator("#pc-identity-phone")).to_have_text("138****5678")
    expect(page.locator("#pc-identity-name")).to_have_text("王*例")
    shots(page, "pc-identity-done")
    with console.exclusive():
        guardian = guardian_of(user_id)
        assert guardian is not None and guardian_out(guardian).phone == "138****5678"
        assert not redis_store.client.exists(redis_store.key("pc-phone", user_id))

    # 我的孩子: the address picker, the zoned school, the consent box unticked.
    page.get_by_role("link", name="下一步：添加孩子").click()
    page.wait_for_url(console.url + "/pc/children")
    child_form = page.locator("#pc-child-form")
    expect(child_form).to_be_visible()
    expect(page.locator("#pc-children-empty")).to_be_visible()
    expect(page.locator("#pc-consent-text")).to_contain_text("监护人")
    consent_box = child_form.get_by_label("我是该儿童的监护人，已阅读并同意上述同意书")
    expect(consent_box).not_to_be_checked()
    child_form.get_by_label("孩子姓名").fill("王小示")
    birth = dt.date(county["year"] - 7, 3, 1)
    child_form.get_by_label("证件号码").fill(make_id_number(birth, 953))
    child_form.locator("select[name=town]").select_option(label="临泉镇")
    child_form.locator("select[name='hukou.region_code']").select_option(label="示例一村")
    child_form.locator("input[name='hukou.address']").fill("示例路 1 号")
    expect(page.locator(".pc-zone-school")).to_have_text(["临泉镇第一小学（公办）"])
    page.get_by_role("button", name="保存孩子信息").click()
    # Without the tick the API refuses and nothing is saved; the error is next to the box.
    expect(child_form.locator(".pc-consent .field-error")).to_contain_text("勾选同意")
    with console.exclusive():
        assert db.session.scalar(select(Child).where(Child.guardian_id == guardian.id)) is None
    consent_box.check()
    page.get_by_role("button", name="保存孩子信息").click()
    expect(page.locator(".pc-child-name")).to_have_text(["王*示"])
    # At the office PC's size nothing runs off to the side.
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    shots(page, "pc-children", full_page=True)
    with console.exclusive():
        child = db.session.scalar(select(Child).where(Child.guardian_id == guardian.id))
        assert child is not None
        assert child.consent.channel is ConsentChannel.PC
        assert child.consent.version == CONSENT_VERSION

    # 大字: larger type, kept on the next page.
    font_size = "parseFloat(getComputedStyle(document.querySelector('.pc-page')).fontSize)"
    size = page.evaluate(font_size)
    page.get_by_role("button", name="大字").click()
    expect(page.locator("html")).to_have_class("pc-large")
    assert page.evaluate(font_size) > size
    page.get_by_role("link", name="我的首页").click()
    page.wait_for_url(console.url + "/pc/")
    expect(page.locator("html")).to_have_class("pc-large")
    expect(page.locator("#pc-user-name")).to_have_text("王*例")

    # 提交报名: the child, the zoned school first, the basis's document uploaded from the PC.
    page.get_by_role("link", name="3 提交报名").click()
    page.wait_for_url(console.url + "/pc/register")
    register = page.locator("#pc-register-form")
    expect(register).to_be_visible()
    schools = register.locator("select[name=school_code] option")
    expect(schools).to_have_text(["临泉镇第一小学", "示例县实验小学"])
    expect(register.locator("select[name=school_code]")).to_have_value(county["school"].code)
    expect(page.locator("#pc-must-read-text")).to_contain_text("今年户口簿须提供户主页。")
    expect(page.locator("#pc-must-read-text")).to_contain_text("报名先后不影响录取")
    documents = register.locator(".pc-document")
    expect(documents).to_have_count(1)
    expect(documents.first).to_contain_text("户口簿")
    documents.first.locator("input[type=file]").set_input_files(
        files=[{"name": "hukou.png", "mimeType": "image/png", "buffer": document_png()}])
    expect(documents.first.locator(".pc-upload-state")).to_have_text("已上传")
    with console.exclusive():
        [upload] = db.session.scalars(select(Upload).where(Upload.owner_user_id == user_id)).all()
    page.get_by_role("button", name="提交报名").click()
    expect(register.locator(".pc-must-read .field-error")).to_contain_text("请读完报名须知")
    register.get_by_label("我已阅读并同意报名须知，所填信息和上传材料真实").check()
    page.get_by_role("button", name="提交报名").click()
    expect(page.locator("#pc-ticket-state")).to_have_text("正在受理，请稍候…")
    drain_until_accepted(page, console)
    shots(page, "pc-registered")
    with console.exclusive():
        [registration] = db.session.scalars(
            select(Registration).where(Registration.child_id == child.id)).all()
        assert registration.school_id == county["school"].id
        assert registration.status is RegistrationStatus.SUBMITTED
        assert [u.id for u in registration.uploads] == [upload.id]
    expect(page.locator("#pc-ticket-detail")).to_contain_text(f"报名编号 {registration.id}")

    # 我的报名: the status and its timeline, printable.
    page.get_by_role("link", name="我的报名").click()
    page.wait_for_url(console.url + "/pc/registrations")
    card = page.locator(f"[data-registration-id='{registration.id}']")
    expect(card.locator(".pc-registration-status")).to_have_text("已受理")
    expect(card.locator("h2")).to_have_text("临泉镇第一小学　王*示")
    expect(card.locator(".pc-timeline li")).to_have_count(1)
    page.emulate_media(media="print")
    expect(page.locator(".pc-nav")).to_be_hidden()
    expect(card).to_be_visible()
    page.emulate_media(media="screen")


@pytest.mark.slow
def test_a_refused_ticket_says_why_on_the_pc(
        client: FlaskClient, console: Console, office_page: Page, shots: Any,
        county: dict[str, Any], login_parent: Login) -> None:
    page = office_page

    def add_child(guardian: Guardian) -> Child:
        child = make_child(guardian, county["village"], birth=dt.date(county["year"] - 7, 5, 1))
        facts.refresh_children([child.id])
        return child  # type: ignore[no-any-return]

    child = sign_in_bound(page, client, console, login_parent, "李示例", add_child)
    page.get_by_role("link", name="提交报名").first.click()
    page.wait_for_url(console.url + "/pc/register")
    register = page.locator("#pc-register-form")
    register.locator(".pc-document input[type=file]").set_input_files(
        files=[{"name": "hukou.png", "mimeType": "image/png", "buffer": document_png()}])
    expect(register.locator(".pc-upload-state")).to_have_text("已上传")
    register.get_by_label("我已阅读并同意报名须知，所填信息和上传材料真实").check()
    page.get_by_role("button", name="提交报名").click()
    expect(page.locator("#pc-ticket-state")).to_have_text("正在受理，请稍候…")
    # The document is gone before the worker gets to the submission.
    with console.exclusive():
        for upload in db.session.scalars(select(Upload).where(
                Upload.owner_user_id == child.guardian.user_id)):
            upload.purged_at = utcnow()
        db.session.commit()
        drain()

    expect(page.locator("#pc-ticket-state")).to_have_text("报名未被受理")
    expect(page.locator("#pc-ticket-detail")).to_have_text("部分材料已删除，报名未受理，请重新上传后提交")
    expect(register).to_be_visible()
    shots(page, "pc-register-refused")
    with console.exclusive():
        assert db.session.scalar(select(Registration).where(
            Registration.child_id == child.id)) is None


@pytest.mark.slow
def test_a_migrant_child_without_a_resident_id_is_added_changed_and_registered_on_the_pc(
        client: FlaskClient, console: Console, office_page: Page, shots: Any,
        county: dict[str, Any], login_parent: Login) -> None:
    page = office_page
    with console.exclusive():
        # The household registration is elsewhere in the county, outside the school's zone;
        # the family lives in the zoned village with a 居住证.
        town = make_region(county["authority"], name="示例二镇")
        make_region(county["authority"], level=RegionLevel.VILLAGE, parent=town, name="示例二村")
        db.session.commit()
    guardian = sign_in_bound(page, client, console, login_parent, "陈示例")
    page.get_by_role("link", name="2 我的孩子").click()
    page.wait_for_url(console.url + "/pc/children")
    form = page.locator("#pc-child-form")
    expect(form).to_be_visible()
    expect(page.locator("#pc-children-empty")).to_be_visible()

    # A 港澳居民来往内地通行证: no birth date or sex in the number, so the form asks for them.
    expect(form.get_by_label("出生日期")).to_be_hidden()
    form.get_by_label("孩子姓名").fill("陈小迁")
    form.get_by_label("证件类型").select_option("hk_macau_permit")
    form.get_by_label("证件号码").fill("H12345678")
    expect(form.get_by_label("出生日期")).to_be_visible()
    form.locator("select[name=town]").select_option(label="示例二镇")
    form.locator("select[name='hukou.region_code']").select_option(label="示例二村")
    form.get_by_label("实际居住地与户籍地址不同").check()
    form.locator("select[name=residence_town]").select_option(label="临泉镇")
    form.locator("select[name='residence.region_code']").select_option(label="示例一村")
    form.locator("input[name='residence.address']").fill("示例路 8 号")
    expect(page.locator("#pc-permit")).to_be_hidden()
    form.get_by_label("随迁子女").check()
    expect(page.locator("#pc-permit")).to_be_visible()
    form.get_by_label("居住证号码").fill("JZ20240001")
    form.get_by_label("签发日期").fill("2024-03-01")
    form.get_by_label("我是该儿童的监护人，已阅读并同意上述同意书").check()
    page.get_by_role("button", name="保存孩子信息").click()
    # The API's rule for a document without a birth date, next to the field.
    expect(form.locator("label:has(input[name=birth_date]) .field-error")).to_contain_text(
        "出生日期")
    form.get_by_label("出生日期").fill(f"{county['year'] - 7}-04-02")
    form.locator("select[name=sex]").select_option("female")
    page.get_by_role("button", name="保存孩子信息").click()
    row = page.locator(".pc-child")
    expect(row).to_have_count(1)
    expect(row.locator(".pc-child-name")).to_have_text("陈*迁")
    expect(row.locator(".pc-child-groups")).to_have_text("特殊群体：随迁子女")
    expect(row).to_contain_text("报名时需上传：居住证")
    expect(page.locator("#pc-children-saved")).to_contain_text("已保存")
    shots(page, "pc-migrant-child", full_page=True)
    with console.exclusive():
        [child] = db.session.scalars(select(Child).where(Child.guardian_id == guardian.id)).all()
        assert child.document_type is DocumentType.HK_MACAU_PERMIT
        assert child.birth_date == dt.date(county["year"] - 7, 4, 2)
        assert child.sex is Sex.FEMALE
        assert child.categories == ["migrant"]
        assert child.residence_permit is not None
        assert child.residence_permit["issued_on"] == "2024-03-01"
        assert child.residence_region_id == county["village"].id
        assert child.consent.channel is ConsentChannel.PC
        child_id = child.id

    # 修改: the details come back into the form; the document cannot change.
    row.get_by_role("button", name="修改").click()
    expect(page.locator("#pc-child-form-title")).to_have_text("修改孩子信息：陈*迁")
    expect(page.locator("#pc-child-fixed")).to_contain_text("港澳居民来往内地通行证")
    expect(page.locator("#pc-consent")).to_be_hidden()
    expect(form.get_by_label("随迁子女")).to_be_checked()
    expect(form.get_by_label("签发日期")).to_have_value("2024-03-01")
    form.locator("input[name='residence.address']").fill("示例路 9 号")
    page.get_by_role("button", name="保存孩子信息").click()
    expect(page.locator("#pc-children-saved")).to_contain_text("已保存")
    with console.exclusive():
        db.session.expire_all()
        child = db.session.get(Child, child_id)
        assert child is not None and child.residence_address == "示例路 9 号"
        assert child.residence_permit is not None  # an empty number kept the 居住证

    # 提交报名: the group's 居住证 is asked for, once when the basis asks for it too.
    page.get_by_role("link", name="3 提交报名").click()
    page.wait_for_url(console.url + "/pc/register")
    register = page.locator("#pc-register-form")
    expect(register).to_be_visible()
    documents = register.locator(".pc-document")
    expect(register.locator("select[name=basis]")).to_have_value("hukou")
    expect(documents).to_have_count(2)
    expect(documents).to_contain_text(["户口簿", "居住证"])
    register.locator("select[name=basis]").select_option("residence_permit")
    expect(documents).to_have_count(1)
    expect(documents.first).to_contain_text("居住证")
    documents.first.locator("input[type=file]").set_input_files(
        files=[{"name": "permit.png", "mimeType": "image/png",
                "buffer": document_png("居住证")}])
    expect(documents.first.locator(".pc-upload-state")).to_have_text("已上传")
    register.get_by_label("我已阅读并同意报名须知，所填信息和上传材料真实").check()
    page.get_by_role("button", name="提交报名").click()
    drain_until_accepted(page, console)
    with console.exclusive():
        [registration] = db.session.scalars(
            select(Registration).where(Registration.child_id == child_id)).all()
        assert registration.basis is Basis.RESIDENCE_PERMIT
        assert registration.school_id == county["school"].id
        assert [u.kind for u in registration.uploads] == [UploadKind.RESIDENCE_PERMIT]

    # Now the registration holds the child: a change is refused with the API's message.
    page.get_by_role("link", name="2 我的孩子").click()
    page.wait_for_url(console.url + "/pc/children")
    page.locator(".pc-child").get_by_role("button", name="修改").click()
    form.locator("input[name='residence.address']").fill("示例路 10 号")
    page.get_by_role("button", name="保存孩子信息").click()
    expect(page.locator("#pc-children-error")).to_have_text(
        "该儿童已提交报名，请通过“修改报名信息”办理")
    with console.exclusive():
        db.session.expire_all()
        child = db.session.get(Child, child_id)
        assert child is not None and child.residence_address == "示例路 9 号"
