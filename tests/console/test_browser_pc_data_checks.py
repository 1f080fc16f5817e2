"""政府数据核验 on the PC (docs/VERIFICATION.md), in a browser: the family ticks the separate
consent on 提交报名, the worker asks the government data simulator, the page says the
household register needs no upload, and the registration goes through with none."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Page, expect
from sqlalchemy import select

from backend.core import pii
from backend.core.db import db
from backend.identity.models import Child, Guardian
from backend.registrations import facts
from backend.registrations.models import Registration
from backend.verification.models import DataCheckChannel, DataCheckConsent
from tests.console._support import Console
from tests.console.test_browser_pc_journey import (  # noqa: F401 - the county fixture
    Login,
    county,
    drain_until_accepted,
    sign_in_bound,
)
from tests.factories import make_child
from tests.govdata.conftest import _reset_gov_sim, gov_sim, govdata_config  # noqa: F401
from tests.proxy._support import drain

VILLAGE_CODE = "141124190002"


@pytest.mark.slow
def test_a_household_confirmed_from_government_data_needs_no_upload_on_the_pc(
        app: Flask, client: FlaskClient, console: Console, office_page: Page, shots: Any,
        county: dict[str, Any], login_parent: Login, gov_sim: Any,  # noqa: F811
        govdata_config: Any, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setitem(app.config, "GOVDATA_SOURCES", govdata_config()["GOVDATA_SOURCES"])
    page = office_page
    birth = dt.date(county["year"] - 7, 5, 1)

    def add_child(guardian: Guardian) -> Child:
        county["village"].code = VILLAGE_CODE
        child = make_child(guardian, county["village"], birth=birth, name="王示例")
        facts.refresh_children([child.id])
        guardian_number = pii.decrypt(guardian.id_number_enc or "", "guardian.id_number")
        gov_sim.add_record("household", {
            "idNumber": pii.decrypt(child.id_number_enc or "", "child.id_number"),
            "name": "王示例", "birthDate": birth.isoformat(), "householdNo": "141124190002000951",
            "address": "山西省吕梁市临县临泉镇示例一村2号（样例）", "regionCode": VILLAGE_CODE,
            "guardians": [{"idNumber": guardian_number, "name": "王示家", "relation": "母亲"}]})
        return child  # type: ignore[no-any-return]

    child = sign_in_bound(page, client, console, login_parent, "王示家", add_child)
    page.get_by_role("link", name="提交报名").first.click()
    page.wait_for_url(console.url + "/pc/register")
    expect(page.locator("#pc-data-check-text")).to_contain_text("经您单独同意")
    page.get_by_label("我已阅读并同意《政府数据核验授权书》").check()
    page.get_by_role("button", name="同意并核验").click()
    expect(page.locator("#pc-data-check-state")).to_contain_text("已提交核验")
    with console.exclusive():
        consent = db.session.scalar(select(DataCheckConsent).where(
            DataCheckConsent.child_id == child.id))
        assert consent is not None and consent.channel is DataCheckChannel.PC
        drain()
    register = page.locator("#pc-register-form")
    expect(register.locator(".pc-verified")).to_have_text(
        "户口簿（户主页及儿童页）：已由户籍信息核验，无需上传")
    shots(page, "pc-register-data-check")
    register.get_by_label("我已阅读并同意报名须知，所填信息和上传材料真实").check()
    page.get_by_role("button", name="提交报名").click()
    drain_until_accepted(page, console)
    with console.exclusive():
        registration = db.session.scalar(select(Registration).where(
            Registration.child_id == child.id))
        assert registration is not None and registration.uploads == []
