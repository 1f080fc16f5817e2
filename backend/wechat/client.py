"""The one adapter over wechatpy: stable access tokens shared in Redis, timeouts, clear errors."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import redis
import requests
from flask import Flask
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.redisstorage import RedisStorage

logger = logging.getLogger(__name__)

# WeChat's "system busy" and our own transport failures: worth retrying later.
BUSY_ERRCODES = {-1}
RATE_LIMIT_ERRCODES = {45009, 45011}


class WeChatError(Exception):
    """WeChat answered with an errcode."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"WeChat errcode {errcode}")
        self.errcode = errcode
        self.errmsg = errmsg


class WeChatUnavailable(Exception):
    """WeChat could not be reached, timed out, or said it is busy."""


@dataclass(frozen=True)
class LoginSession:
    """The result of code2Session. session_key never leaves the server."""

    openid: str
    session_key: str
    unionid: str | None


class StableTokenClient(WeChatClient):
    """wechatpy's client, fetching tokens from `cgi-bin/stable_token` at a configurable base.

    stable_token returns the same token while it is valid, so several processes
    sharing it through Redis never invalidate each other's token.
    """

    def __init__(self, appid: str, secret: str, base_url: str, *,
                 session: Any, timeout: float) -> None:
        super().__init__(appid, secret, session=session, timeout=timeout)
        self.base_url = base_url
        self.API_BASE_URL = base_url + "cgi-bin/"
        self.wxa.API_BASE_URL = base_url

    def fetch_access_token(self) -> dict[str, Any]:
        """Fetch (or re-read) the stable access token and store it for every process."""
        response = self._http.post(
            self.base_url + "cgi-bin/stable_token",
            json={"grant_type": "client_credential", "appid": self.appid,
                  "secret": self.secret, "force_refresh": False},
            timeout=self.timeout,
        )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        if result.get("errcode"):
            raise WeChatClientException(
                result["errcode"], result.get("errmsg", ""), client=self,
                request=response.request, response=response,
            )
        expires_in = int(result.get("expires_in", 7200))
        # Refresh a little early so no request goes out with a token about to lapse.
        ttl = max(expires_in - 300, 60)
        self.session.set(self.access_token_key, result["access_token"], ttl)
        self.expires_at = int(time.time()) + ttl
        return result


class WeChatAdapter:
    """The calls the platform makes to WeChat, with wechatpy errors turned into ours."""

    def __init__(self) -> None:
        self._client: StableTokenClient | None = None
        self.appid = ""
        self.base_url = ""

    def init_app(self, app: Flask, redis_client: redis.Redis, key_prefix: str) -> None:
        """Configure from WECHAT_APPID / WECHAT_SECRET / WECHAT_API_BASE_URL."""
        self.appid = app.config["WECHAT_APPID"]
        self.base_url = app.config["WECHAT_API_BASE_URL"]
        self._client = StableTokenClient(
            self.appid,
            app.config["WECHAT_SECRET"],
            self.base_url,
            session=RedisStorage(redis_client, prefix=key_prefix + "wechatpy"),
            timeout=app.config["WECHAT_TIMEOUT_SECONDS"],
        )
        app.extensions["wechat"] = self

    @property
    def client(self) -> StableTokenClient:
        """The configured wechatpy client."""
        if self._client is None:
            raise RuntimeError("WeChat adapter is not initialised")
        return self._client

    def _call(self, method: str, endpoint: str, **kwargs: Any) -> Any:
        try:
            return self.client.get(endpoint, **kwargs) if method == "get" \
                else self.client.post(endpoint, **kwargs)
        except requests.RequestException as exc:
            logger.warning("WeChat unreachable endpoint=%s error=%s", endpoint,
                           type(exc).__name__)
            raise WeChatUnavailable(type(exc).__name__) from exc
        except WeChatClientException as exc:
            if exc.errcode is None or exc.errcode in BUSY_ERRCODES:
                logger.warning("WeChat busy endpoint=%s errcode=%s", endpoint, exc.errcode)
                raise WeChatUnavailable(str(exc.errcode)) from exc
            logger.info("WeChat error endpoint=%s errcode=%s", endpoint, exc.errcode)
            raise WeChatError(int(exc.errcode), str(exc.errmsg)) from exc

    def code_to_session(self, code: str) -> LoginSession:
        """sns/jscode2session: exchange a wx.login code for openid (+unionid) and session_key."""
        result = self._call(
            "get",
            self.base_url + "sns/jscode2session",
            # access_token=None: this endpoint needs none, so login never waits on a token.
            params={"appid": self.appid, "secret": self.client.secret, "js_code": code,
                    "grant_type": "authorization_code", "access_token": None},
        )
        return LoginSession(
            openid=result["openid"], session_key=result["session_key"],
            unionid=result.get("unionid"),
        )

    def get_phone_number(self, code: str) -> str:
        """wxa/business/getuserphonenumber: the phone behind a getPhoneNumber code."""
        result = self._call("post", "wxa/business/getuserphonenumber", data={"code": code},
                            api_base_url=self.base_url)
        return str(result["phone_info"]["purePhoneNumber"])

    def ping(self) -> bool:
        """Whether an access token can be obtained (used by diagnostics, not by /readyz)."""
        try:
            return bool(self.client.access_token)
        except (requests.RequestException, WeChatClientException):
            return False


wechat = WeChatAdapter()
