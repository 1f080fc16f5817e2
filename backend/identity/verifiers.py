"""Whether a real-name binding counts as verified: pluggable verifiers.

The default accepts a binding whose document number passed format and checksum as
"self-declared". The WeChat face verifier (人脸核身) upgrades a resident-ID binding to
"face verified" once WeChat says the face on the phone matches the name and number.
"""

from __future__ import annotations

import secrets
from abc import ABC, abstractmethod
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from backend.core import pii
from backend.core.db import db, utcnow
from backend.core.errors import ApiError
from backend.identity.models import DocumentType, FaceVerification, Guardian, VerificationLevel
from backend.wechat.client import WeChatError, WeChatUnavailable, wechat

FACE_SUCCESS = 10000

# verify_ret values a family can act on (WeChat's queryVerifyInfo enumeration).
_FACE_FAILURES = {
    10003: "身份证号码与姓名不匹配",
    10004: "人脸与身份证照片比对不一致",
    90002: "已取消人脸核身",
    90017: "人脸核身尚未完成或已超时",
}


@dataclass(frozen=True)
class Challenge:
    """What the phone needs to run a verification step."""

    verify_id: str
    expires_in: int


class IdentityVerifier(ABC):
    """Decides how far a guardian's binding is verified."""

    key: str

    def on_bind(self, guardian: Guardian) -> None:
        """Called when a binding is created: every binding starts self-declared."""
        guardian.verification = VerificationLevel.SELF_DECLARED
        guardian.verified_at = None

    @abstractmethod
    def start(self, guardian: Guardian) -> Challenge:
        """Begin a stronger verification (raises when this verifier offers none)."""

    @abstractmethod
    def complete(self, guardian: Guardian, verify_id: str) -> VerificationLevel:
        """Finish it and return the new level (raises with a clear reason on failure)."""


class SelfDeclaredVerifier(IdentityVerifier):
    """Format and checksum only (the documents are checked by the school on review)."""

    key = "self_declared"

    def start(self, guardian: Guardian) -> Challenge:
        """This deployment offers no stronger check."""
        raise ApiError(409, "VERIFICATION_NOT_OFFERED", "本平台未开通人脸核身，无需进行此步骤")

    def complete(self, guardian: Guardian, verify_id: str) -> VerificationLevel:
        """This deployment offers no stronger check."""
        raise ApiError(409, "VERIFICATION_NOT_OFFERED", "本平台未开通人脸核身，无需进行此步骤")


def _wechat_failure(exc: Exception) -> ApiError:
    if isinstance(exc, WeChatUnavailable):
        return ApiError(503, "WECHAT_UNAVAILABLE", "微信服务暂时不可用，请稍后重试",
                        headers={"Retry-After": "30"})
    return ApiError(502, "FACE_VERIFICATION_ERROR", "人脸核身服务返回错误，请稍后重试")


class WeChatFaceVerifier(IdentityVerifier):
    """WeChat 人脸核身: getVerifyId → wx.requestFacialVerify → queryVerifyInfo."""

    key = "wechat_face"

    def _identity(self, guardian: Guardian) -> tuple[str, str]:
        if guardian.document_type is not DocumentType.RESIDENT_ID or not guardian.id_number_enc:
            raise ApiError(409, "FACE_VERIFICATION_UNSUPPORTED",
                           "人脸核身仅支持居民身份证，其他证件请到学校现场核验")
        return guardian.name, pii.decrypt(guardian.id_number_enc, "guardian.id_number")

    def start(self, guardian: Guardian) -> Challenge:
        """Ask WeChat for a verify_id bound to this name, number and openid."""
        name, number = self._identity(guardian)
        out_seq_no = "fv" + secrets.token_hex(12)
        try:
            verify_id, expires_in = wechat.get_verify_id(
                openid=guardian.user.openid or "", out_seq_no=out_seq_no, name=name,
                id_number=number)
        except (WeChatError, WeChatUnavailable) as exc:
            raise _wechat_failure(exc) from exc
        db.session.add(FaceVerification(guardian_id=guardian.id, out_seq_no=out_seq_no,
                                        verify_id=verify_id))
        return Challenge(verify_id=verify_id, expires_in=expires_in)

    def complete(self, guardian: Guardian, verify_id: str) -> VerificationLevel:
        """Ask WeChat for the true result; only 10000 upgrades the binding."""
        session = db.session.scalar(select(FaceVerification).where(
            FaceVerification.verify_id == verify_id,
            FaceVerification.guardian_id == guardian.id))
        if session is None:
            raise ApiError(404, "FACE_VERIFICATION_NOT_FOUND", "未找到该人脸核身记录，请重新发起")
        name, number = self._identity(guardian)
        try:
            result = wechat.query_verify_info(
                openid=guardian.user.openid or "", out_seq_no=session.out_seq_no,
                verify_id=verify_id, name=name, id_number=number)
        except WeChatError as exc:
            if exc.errcode == 84001:
                raise ApiError(410, "FACE_VERIFICATION_EXPIRED",
                               "人脸核身已过期，请重新发起") from exc
            raise _wechat_failure(exc) from exc
        except WeChatUnavailable as exc:
            raise _wechat_failure(exc) from exc
        session.result_code = result
        session.completed_at = utcnow()
        if result != FACE_SUCCESS:
            reason = _FACE_FAILURES.get(result, "人脸核身未通过")
            raise ApiError(422, "FACE_VERIFICATION_FAILED", f"{reason}，请重试",
                           details={"verify_ret": result})
        guardian.verification = VerificationLevel.FACE_VERIFIED
        guardian.verified_at = utcnow()
        return guardian.verification


_VERIFIERS: dict[str, type[IdentityVerifier]] = {
    SelfDeclaredVerifier.key: SelfDeclaredVerifier,
    WeChatFaceVerifier.key: WeChatFaceVerifier,
}


def current_verifier() -> IdentityVerifier:
    """The verifier IDENTITY_VERIFIER names (self_declared by default)."""
    key = current_app.config.get("IDENTITY_VERIFIER", "self_declared")
    if key not in _VERIFIERS:
        raise RuntimeError(f"unknown IDENTITY_VERIFIER {key!r}")
    return _VERIFIERS[key]()
