"""Template configuration and WeChat's field rules: values are fitted, never silently wrong."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from backend.config import ConfigError, check_production, load_settings
from backend.core.timeutil import zone
from backend.notices.templates import (
    DEFAULT_TEMPLATES,
    FieldError,
    fit_value,
    parse_templates,
    wechat_data,
)
from backend.wechat.simulator import valid_subscribe_field

SHANGHAI = zone("Asia/Shanghai")


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("thing1", "临县第一小学", "临县第一小学"),
    ("thing1", "一" * 21, "一" * 19 + "…"),
    ("thing2", "多行\n内容\t在此", "多行 内容 在此"),
    ("phrase3", "审核通过", "审核通过"),
    ("phrase3", "审核通过了吗？", "审核通过了"),
    ("phrase3", "OK已受理", "已受理"),
    ("name4", "张小明", "张小明"),
    ("number5", 42, "42"),
    ("number5", "3.5", "3.5"),
    ("letter6", "ABC", "ABC"),
    ("character_string2", "T0123456789abcdef01234567", "T0123456789abcdef01234567"),
    ("character_string2", "X" * 40, "X" * 29 + "..."),
    ("time3", "2024-08-05T00:00:00+00:00", "2024年08月05日 08:00"),
    ("time3", "2024-08-05T08:00:00Z", "2024年08月05日 16:00"),
    ("time3", dt.datetime(2024, 8, 5, 1, 30, tzinfo=dt.UTC), "2024年08月05日 09:30"),
    ("time3", "2024-08-06T00:00:00+00:00~2024-08-06T02:00:00+00:00",
     "2024年08月06日 08:00~2024年08月06日 10:00"),
    ("time3", "2024年08月05日 08:00", "2024年08月05日 08:00"),
    ("date4", "2024-08-10", "2024年08月10日"),
    ("date4", dt.date(2024, 8, 10), "2024年08月10日"),
    ("amount1", "￥100元", "￥100元"),
    ("phone_number1", "0358-1234567", "0358-1234567"),
    ("car_number1", "晋J12345", "晋J12345"),
    ("enum1", "1", "1"),
])
def test_values_are_fitted_to_what_wechat_accepts(field: str, value: Any, expected: str) -> None:
    fitted = fit_value(field, value, SHANGHAI)

    assert fitted == expected
    # The simulator holds WeChat's documented rules: it agrees.
    assert valid_subscribe_field(field, fitted)


@pytest.mark.parametrize(("field", "value"), [
    ("phrase1", "OK"),
    ("number1", "十二"),
    ("number1", True),
    ("letter1", "abc123"),
    ("character_string1", "报名号"),
    ("time1", "soon"),
    ("time1", "2024-08-10"),  # a time field needs a time of day
    ("time1", "a~b~c"),
    ("name1", "张*明"),  # a masked name is not a name: map it to a thing field
    ("phone_number1", "call me"),
    ("amount1", "lots"),
    ("car_number1", "ABC"),
    ("thing1", "   "),
])
def test_values_nothing_can_fix_are_refused_with_the_field(field: str, value: Any) -> None:
    with pytest.raises(FieldError) as caught:
        fit_value(field, value, SHANGHAI)
    assert caught.value.field == field


def test_a_missing_value_fails_but_a_missing_note_shows_none() -> None:
    templates = parse_templates(None)
    data = {"school": "学校", "child": "张*明", "result": "未通过"}
    assert wechat_data(templates["review_result"], data, SHANGHAI)["thing4"] == {"value": "无"}
    with pytest.raises(FieldError, match="no value for child"):
        wechat_data(templates["review_result"], {**data, "child": ""}, SHANGHAI)


@pytest.mark.parametrize(("raw", "complaint"), [
    ("{", "not valid JSON"),
    ("[]", "JSON object"),
    ('{"lottery": {}}', "unknown template keys: lottery"),
    ('{"review_result": {"fields": {"thing1": "school"}}}', "template_id"),
    ('{"review_result": {"template_id": "x y", "fields": {"thing1": "school"}}}',
     "template_id"),
    ('{"review_result": {"template_id": "abc", "fields": {}}}', "fields"),
    ('{"review_result": {"template_id": "abc", "fields": {"words1": "school"}}}',
     "not a WeChat field"),
    ('{"review_result": {"template_id": "abc", "fields": {"thing1": "ticket"}}}',
     "'ticket' is not one of"),
    ('{"review_result": {"template_id": "abc", "fields": {"thing1": "school"}, "x": 1}}',
     "unknown entries"),
])
def test_a_bad_template_setting_stops_the_start(raw: str, complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint):
        load_settings({"NOTICE_TEMPLATES": raw})


def test_a_good_template_setting_overrides_only_its_keys() -> None:
    raw = json.dumps({"review_result": {"template_id": "AbC-123_x",
                                        "fields": {"thing9": "school", "phrase2": "result"}}})
    templates = parse_templates(load_settings({"NOTICE_TEMPLATES": raw})["NOTICE_TEMPLATES"])
    assert templates["review_result"].template_id == "AbC-123_x"
    assert templates["review_result"].fields == (("thing9", "school"), ("phrase2", "result"))
    assert templates["appointment"].template_id == "TPL_APPOINTMENT"


def test_the_miniprogram_state_setting_is_checked() -> None:
    assert load_settings({})["NOTICE_MINIPROGRAM_STATE"] == "formal"
    assert load_settings({"NOTICE_MINIPROGRAM_STATE": "trial"})["NOTICE_MINIPROGRAM_STATE"] \
        == "trial"
    with pytest.raises(ConfigError, match="NOTICE_MINIPROGRAM_STATE"):
        load_settings({"NOTICE_MINIPROGRAM_STATE": "beta"})


PRODUCTION = {
    "APP_ENV": "production",
    "SECRET_KEY": "x" * 48,
    "PII_ENCRYPTION_KEY": "q1V0b3Vy2m9mPq0Jt7x1cK3n4Rk2c1lq0Yd1uWq8bXk",
    "PII_INDEX_KEY": "Zm9yLWluZGV4LW9ubHktMzItYnl0ZXMtbG9uZy1rZXk",
    "DATABASE_URL": "postgresql://app@db.internal/enrollment",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "WECHAT_APPID": "wx1234567890abcdef",
    "WECHAT_SECRET": "a-real-secret-from-the-console",
    "WECHAT_API_BASE_URL": "https://api.weixin.qq.com/",
    "INTAKE_DURABILITY": "aof",
}
OWN_TEMPLATES = json.dumps({key: {**spec, "template_id": f"own-{key}"}
                            for key, spec in DEFAULT_TEMPLATES.items()})


def test_production_refuses_the_simulators_template_ids() -> None:
    check_production({**PRODUCTION, "NOTICE_TEMPLATES": OWN_TEMPLATES})
    with pytest.raises(ConfigError, match="NOTICE_TEMPLATES"):
        check_production(PRODUCTION)
    half = json.dumps({"announcement": {**DEFAULT_TEMPLATES["announcement"],
                                        "template_id": "own-announcement"}})
    with pytest.raises(ConfigError, match="demo ids for: admission_result"):
        check_production({**PRODUCTION, "NOTICE_TEMPLATES": half})


def test_production_refuses_a_sending_timeout_shorter_than_a_send() -> None:
    with pytest.raises(ConfigError, match="NOTICE_SENDING_TIMEOUT_SECONDS"):
        check_production({**PRODUCTION, "NOTICE_TEMPLATES": OWN_TEMPLATES,
                          "WECHAT_TIMEOUT_SECONDS": 5.0, "NOTICE_SENDING_TIMEOUT_SECONDS": 20})
