"""The one adapter over wechatpy: stable access tokens shared in Redis, timeouts, clear errors."""

from __future__ import annotations

import base64
import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import redis
import requests
from flask import Flask
from urllib3.exceptions import NewConnectionError
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


class WeChatOutcomeUnknown(Exception):
    """A call may have reached WeChat but its answer was lost (read timeout, dropped line)."""


# Access-token errors: the call was refused before WeChat did anything with it.
TOKEN_ERRCODES = {40001, 40014, 42001}


def _never_reached(exc: Exception) -> bool:
    """Whether a failed subscribe send provably never reached WeChat's send endpoint."""
    url = str(getattr(getattr(exc, "request", None), "url", None) or "")
    if "cgi-bin/stable_token" in url or "cgi-bin/token" in url:
        return True  # only the token fetch before the send failed
    if isinstance(exc, requests.exceptions.ConnectTimeout | requests.exceptions.InvalidURL
                  | requests.exceptions.MissingSchema | requests.exceptions.InvalidSchema):
        return True
    if isinstance(exc, requests.ConnectionError) and exc.args:
        # Refused or unresolvable: no connection, so no request. A connection dropped
        # after the request went out is not this case.
        return isinstance(getattr(exc.args[0], "reason", None), NewConnectionError)
    return False


def face_cert_hash(cert_type: str, cert_name: str, cert_no: str) -> str:
    """queryVerifyInfo's cert_hash: base64(sha256) of the cert_info sent to getVerifyId."""
    text = f"cert_type={cert_type}&cert_name={cert_name}&cert_no={cert_no}"
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


@dataclass(frozen=True)
class LoginSession:
    """The result of code2Session. session_key never leaves the server."""

    openid: str
    session_key: str
    unionid: str | None


@dataclass(frozen=True)
class SecCheckResult:
    """msg_sec_check v2's verdict: suggest is pass, review or risky; label the category."""

    suggest: str
    label: int
    trace_id: str | None


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
        # Refresh a little early so no request goes out with a token about to lapse; keep
        # above wechatpy's own 60 s margin or every call would refetch.
        ttl = max(expires_in - 300, 120)
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

    def _call(self, method: str, endpoint: str, **kwargs: Any) -> dict[str, Any]:
        try:
            result = self.client.get(endpoint, **kwargs) if method == "get" \
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
        if not isinstance(result, dict):
            # wechatpy hands back the raw response when the body is not JSON (a proxy's
            # HTML error page, say): WeChat is effectively unavailable.
            logger.warning("WeChat answered with a non-JSON body endpoint=%s", endpoint)
            raise WeChatUnavailable("non-JSON response")
        return result

    def _fields(self, result: dict[str, Any], endpoint: str, *path: str) -> Any:
        value: Any = result
        for key in path:
            if not isinstance(value, dict) or key not in value:
                logger.warning("WeChat response lacks %s endpoint=%s", ".".join(path), endpoint)
                raise WeChatUnavailable("incomplete response")
            value = value[key]
        return value

    def code_to_session(self, code: str) -> LoginSession:
        """sns/jscode2session: exchange a wx.login code for openid (+unionid) and session_key."""
        result = self._call(
            "get",
            self.base_url + "sns/jscode2session",
            # access_token=None: this endpoint needs none, so login never waits on a token.
            params={"appid": self.appid, "secret": self.client.secret, "js_code": code,
                    "grant_type": "authorization_code", "access_token": None},
        )
        endpoint = "sns/jscode2session"
        return LoginSession(
            openid=str(self._fields(result, endpoint, "openid")),
            session_key=str(self._fields(result, endpoint, "session_key")),
            unionid=result.get("unionid"),
        )

    def get_phone_number(self, code: str) -> str:
        """wxa/business/getuserphonenumber: the phone behind a getPhoneNumber code."""
        result = self._call("post", "wxa/business/getuserphonenumber", data={"code": code},
                            api_base_url=self.base_url)
        return str(self._fields(result, "getuserphonenumber", "phone_info", "purePhoneNumber"))

    def get_verify_id(self, *, openid: str, out_seq_no: str, name: str,
                      id_number: str) -> tuple[str, int]:
        """getVerifyId (人脸核身): a verify_id for wx.requestFacialVerify, and its lifetime."""
        result = self._call("post", "cityservice/face/identify/getverifyid", data={
            "out_seq_no": out_seq_no, "openid": openid,
            "cert_info": {"cert_type": "IDENTITY_CARD", "cert_name": name, "cert_no": id_number},
        }, api_base_url=self.base_url)
        verify_id = self._fields(result, "getverifyid", "verify_id")
        return str(verify_id), int(result.get("expires_in", 3600))

    def query_verify_info(self, *, openid: str, out_seq_no: str, verify_id: str, name: str,
                          id_number: str) -> int:
        """queryVerifyInfo: the true face-verification result (10000 = the person matches)."""
        result = self._call("post", "cityservice/face/identify/queryverifyinfo", data={
            "verify_id": verify_id, "out_seq_no": out_seq_no, "openid": openid,
            "cert_hash": face_cert_hash("IDENTITY_CARD", name, id_number),
        }, api_base_url=self.base_url)
        return int(self._fields(result, "queryverifyinfo", "verify_ret"))

    def msg_sec_check(self, *, openid: str, content: str, scene: int = 3,
                      title: str | None = None) -> SecCheckResult:
        """wxa/msg_sec_check v2 (wechatpy's check_text_security is v1): pass, review or risky.

        `openid` must belong to a user who opened the mini-program in the last two hours.
        """
        body: dict[str, Any] = {"version": 2, "openid": openid, "scene": scene,
                                "content": content}
        if title:
            body["title"] = title
        result = self._call("post", "wxa/msg_sec_check", data=body, api_base_url=self.base_url)
        endpoint = "msg_sec_check"
        return SecCheckResult(
            suggest=str(self._fields(result, endpoint, "result", "suggest")),
            label=int(self._fields(result, endpoint, "result", "label")),
            trace_id=result.get("trace_id"),
        )

    def get_wxa_code(self, *, scene: str, page: str, width: int = 430,
                     env_version: str = "release", check_path: bool = True) -> bytes:
        """wxa/getwxacodeunlimit: a mini-program code (PNG) that opens `page` with `scene`."""
        # Posted by hand: wechatpy's get_wxa_code_unlimited has no env_version / check_path.
        body = {"scene": scene, "page": page, "width": width, "env_version": env_version,
                "check_path": check_path}
        try:
            response = self.client.post("wxa/getwxacodeunlimit", data=body,
                                        api_base_url=self.base_url)
        except requests.RequestException as exc:
            raise WeChatUnavailable(type(exc).__name__) from exc
        except WeChatClientException as exc:
            if exc.errcode is None or exc.errcode in BUSY_ERRCODES:
                raise WeChatUnavailable(str(exc.errcode)) from exc
            raise WeChatError(int(exc.errcode), str(exc.errmsg)) from exc
        # A code is a PNG body; errors come as JSON (raised above by wechatpy).
        content = getattr(response, "content", b"")
        if not isinstance(content, bytes) or not content.startswith(b"\x89PNG\r\n\x1a\n"):
            raise WeChatUnavailable("not a PNG")
        return content

    def send_subscribe(self, *, openid: str, template_id: str, data: dict[str, Any],
                       page: str | None = None, miniprogram_state: str | None = None,
                       lang: str = "zh_CN") -> int | None:
        """cgi-bin/message/subscribe/send: one subscribe message; WeChat's msgid.

        For a sender that must send at most once, failures are told apart:
        WeChatUnavailable only when the message provably never reached WeChat (no
        connection, no access token, errcode -1); WeChatOutcomeUnknown when it may have
        (timeout while waiting for the answer, dropped connection, unreadable answer);
        WeChatError for every other errcode (43101, 47003, 45009, 40001 …).
        """
        # Posted by hand: wechatpy's send_subscribe_message has no miniprogram_state / lang.
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": data,
                                "lang": lang}
        if page:
            body["page"] = page
        if miniprogram_state:
            body["miniprogram_state"] = miniprogram_state
        client = self._send_client()
        try:
            return self._send_subscribe_once(client, body)
        except WeChatError as exc:
            if exc.errcode not in TOKEN_ERRCODES:
                raise
            # Refused before WeChat looked at the message: drop the cached token so the
            # next fetch gets a fresh one, and try once more.
            client.session.delete(client.access_token_key)
        try:
            return self._send_subscribe_once(client, body)
        except WeChatError as exc:
            if exc.errcode in TOKEN_ERRCODES:
                client.session.delete(client.access_token_key)
            raise

    def _send_client(self) -> StableTokenClient:
        # wechatpy retries token errors by recursing with no limit; send_subscribe retries
        # once itself instead. Same appid, base URL and shared Redis token storage.
        main = self.client
        pair: tuple[StableTokenClient, StableTokenClient] | None = getattr(
            self, "_no_retry_client", None)
        if pair is None or pair[0] is not main:
            no_retry = StableTokenClient(main.appid, main.secret, self.base_url,
                                         session=main.session, timeout=main.timeout)
            no_retry.auto_retry = False
            pair = (main, no_retry)
            self._no_retry_client = pair
        return pair[1]

    def _send_subscribe_once(self, client: StableTokenClient, body: dict[str, Any]) -> int | None:
        endpoint = "message/subscribe/send"
        try:
            token = client.access_token
        except (requests.RequestException, WeChatClientException) as exc:
            logger.warning("WeChat access token unavailable error=%s", type(exc).__name__)
            raise WeChatUnavailable("no access token") from exc
        try:
            result = client.post(endpoint, data=body, params={"access_token": token})
        except requests.RequestException as exc:
            if _never_reached(exc):
                logger.warning("WeChat unreachable endpoint=%s error=%s", endpoint,
                               type(exc).__name__)
                raise WeChatUnavailable(type(exc).__name__) from exc
            logger.warning("WeChat outcome unknown endpoint=%s error=%s", endpoint,
                           type(exc).__name__)
            raise WeChatOutcomeUnknown(type(exc).__name__) from exc
        except WeChatClientException as exc:
            if _never_reached(exc) or exc.errcode in BUSY_ERRCODES:
                logger.warning("WeChat busy endpoint=%s errcode=%s", endpoint, exc.errcode)
                raise WeChatUnavailable(str(exc.errcode)) from exc
            if exc.errcode is None:  # an HTTP error status: a proxy may have passed it on
                logger.warning("WeChat outcome unknown endpoint=%s http error", endpoint)
                raise WeChatOutcomeUnknown("HTTP error") from exc
            logger.info("WeChat error endpoint=%s errcode=%s", endpoint, exc.errcode)
            raise WeChatError(int(exc.errcode), str(exc.errmsg)) from exc
        if not isinstance(result, dict):
            logger.warning("WeChat answered with a non-JSON body endpoint=%s", endpoint)
            raise WeChatOutcomeUnknown("non-JSON response")
        msgid = result.get("msgid")
        return int(msgid) if isinstance(msgid, int | str) and str(msgid).isdigit() else None

wechat = WeChatAdapter()
