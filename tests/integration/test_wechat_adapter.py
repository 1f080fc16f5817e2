"""The wechatpy adapter against the simulator over HTTP: shared stable tokens, errors, timeouts."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from backend.core.redis import redis_store
from backend.wechat.client import StableTokenClient, WeChatError, WeChatUnavailable, wechat
from tests.conftest import TEST_APPID, TEST_SECRET, Simulator


def _token_fetches(sim: Simulator) -> int:
    return len(sim.get("/sim/calls", endpoint="stable_token")["calls"])


def test_processes_share_one_stable_token_through_redis(app: Flask, wechat_sim: Simulator) -> None:
    from wechatpy.session.redisstorage import RedisStorage

    def new_client() -> StableTokenClient:
        # A second process would build its own client on the same Redis.
        return StableTokenClient(
            TEST_APPID, TEST_SECRET, wechat_sim.base_url, timeout=2,
            session=RedisStorage(redis_store.client, prefix=redis_store.prefix + "wechatpy"),
        )

    first, second = new_client(), new_client()
    token = first.access_token
    assert second.access_token == token
    assert _token_fetches(wechat_sim) == 1
    assert redis_store.client.ttl(redis_store.prefix + f"wechatpy:{TEST_APPID}_access_token") > 0


def test_expired_token_is_refetched_and_the_call_retried(
    app: Flask, wechat_sim: Simulator
) -> None:
    with app.app_context():
        phone_code = wechat_sim.post("/sim/phone-code", openid="o-adapter-1",
                                     phone="13800000000")["code"]
        wechat.client.access_token  # noqa: B018 - warm the token
        wechat_sim.post("/sim/expire-tokens")
        assert wechat.get_phone_number(phone_code) == "13800000000"
    assert _token_fetches(wechat_sim) == 2


def test_phone_code_errors_are_reported_with_errcode(app: Flask, wechat_sim: Simulator) -> None:
    with app.app_context(), pytest.raises(WeChatError) as caught:
        wechat.get_phone_number("never-issued")
    assert caught.value.errcode == 40029


@pytest.mark.parametrize("fault", [{"errcode": -1}, {"delay": 1.5}])
def test_busy_or_slow_wechat_is_unavailable(
    app: Flask, wechat_sim: Simulator, fault: dict[str, Any]
) -> None:
    wechat_sim.fault("jscode2session", **fault)
    with app.app_context(), pytest.raises(WeChatUnavailable):
        wechat.code_to_session(wechat_sim.login_code("o-adapter-2"))


def test_login_does_not_need_an_access_token(app: Flask, wechat_sim: Simulator) -> None:
    with app.app_context():
        result = wechat.code_to_session(wechat_sim.login_code("o-adapter-3", unionid="u-3"))
    assert (result.openid, result.unionid) == ("o-adapter-3", "u-3")
    assert result.session_key
    assert _token_fetches(wechat_sim) == 0
