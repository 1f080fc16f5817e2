"""Real-name binding, children and binding disputes: service functions with plain values."""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from backend.accounts import scope
from backend.accounts.models import Role, User
from backend.audit.services import record_audit
from backend.core import pii
from backend.core.db import after_commit, db, utcnow
from backend.core.errors import ApiError
from backend.core.events import answered_yes
from backend.core.sessions import revoke_all_sessions
from backend.core.timeutil import zone
from backend.identity import kept_phone
from backend.identity.categories import CATEGORIES, PLACEMENT_WISHES
from backend.identity.consent import CONSENT_VERSION
from backend.identity.documents import ParsedDocument, parse_document
from backend.identity.events import (
    binding_transferred,
    child_changed,
    child_details_changed,
    child_edit_asked,
)
from backend.identity.models import (
    Child,
    ConsentChannel,
    DisputeStatus,
    DocumentType,
    Guardian,
    GuardianConsent,
    IdentityDispute,
    Relation,
    Sex,
)
from backend.identity.verifiers import current_verifier
from backend.schools.models import Region, RegionLevel
from backend.wechat.client import WeChatError, WeChatUnavailable, wechat

logger = logging.getLogger(__name__)

MAX_CHILDREN = 10  # several children per guardian (Suining allows 10)
GUARDIAN_ID = "guardian.id_number"
GUARDIAN_PHONE = "guardian.phone"
CHILD_ID = "child.id_number"
PERMIT_NUMBER = "child.residence_permit"
DISPUTE_PHONE = "dispute.phone"


def today() -> dt.date:
    """Today's date where the families are (Asia/Shanghai)."""
    return dt.datetime.now(zone()).date()


def guardian_of(user: User) -> Guardian | None:
    """The user's real-name binding, if any."""
    return db.session.scalar(select(Guardian).where(Guardian.user_id == user.id))


def require_guardian(user: User) -> Guardian:
    """The user's binding, or 409 IDENTITY_REQUIRED."""
    guardian = guardian_of(user)
    if guardian is None:
        raise ApiError(409, "IDENTITY_REQUIRED", "请先完成家长实名绑定")
    return guardian


def _phone_from_code(phone_code: str | None) -> str | None:
    if not phone_code:
        return None
    try:
        return wechat.get_phone_number(phone_code)
    except WeChatUnavailable as exc:
        raise ApiError(503, "WECHAT_UNAVAILABLE", "微信服务暂时不可用，请稍后重试",
                       headers={"Retry-After": "30"}) from exc
    except WeChatError as exc:
        raise ApiError(422, "INVALID_PHONE_CODE", "手机号授权已失效，请重新点击获取手机号") from exc


def _flush_unique(conflict: ApiError) -> None:
    # The unique blind index decides races between two accounts binding the same number.
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        raise conflict from exc


def _already_bound() -> ApiError:
    return ApiError(
        409, "IDENTITY_ALREADY_BOUND",
        "该证件号码已绑定其他微信账号。如非本人操作，可提交申诉，由教育局核实处理",
        details={"dispute": "POST /api/v1/me/identity/disputes"},
    )


def find_guardian(document_type: str, id_number: str) -> Guardian | None:
    """The binding that holds this document number, if any (422 for an invalid number)."""
    parsed = parse_document(DocumentType(document_type), id_number, today())
    index = pii.blind_index(parsed.number, GUARDIAN_ID)
    return db.session.scalar(select(Guardian).where(Guardian.id_number_index == index))


def _entered_by_school() -> ApiError:
    return ApiError(
        409, "IDENTITY_ENTERED_BY_SCHOOL",
        "学校已为该证件号码的家长代为报名。请在“我的 → 认领代报名”中输入学校给您的认领码，"
        "认领后即可在本账号查看和办理",
    )


def bind_identity(user: User, *, name: str, document_type: str, id_number: str,
                  relation: str, phone_code: str | None, from_pc: bool = False) -> Guardian:
    """Bind the caller's account to a real name and document (one number, one account);
    from the PC session without a code, the phone kept when the sign-in was confirmed."""
    if guardian_of(user) is not None:
        raise ApiError(409, "IDENTITY_ALREADY_SET", "已完成实名绑定；如需更改证件信息请联系教育局")
    holder = find_guardian(document_type, id_number)
    if holder is not None:
        # A family a school registered at the counter takes its binding over by claim code.
        raise _entered_by_school() if holder.user.is_staff_created else _already_bound()
    phone = _phone_from_code(phone_code)
    if phone is None and from_pc:
        phone = kept_phone.kept(user.id)
        if phone is not None:
            user_id = user.id
            after_commit(lambda: kept_phone.forget(user_id))
    return _bind(user, name=name, document_type=document_type, id_number=id_number,
                 relation=relation, phone=phone)


def keep_phone_for_pc(user: User, phone_code: str | None) -> str | None:
    """The phone of a code sent with a PC sign-in's confirmation, for an account without a
    binding (422/503 like the binding's); the caller keeps it once the sign-in is confirmed."""
    if not phone_code or guardian_of(user) is not None:
        return None
    return _phone_from_code(phone_code)


PHONE_PATTERN = re.compile(r"^1[3-9]\d{9}$")


def bind_identity_at_counter(user: User, *, name: str, document_type: str, id_number: str,
                             relation: str, phone: str | None) -> Guardian:
    """Bind a family account a school made at the counter (代报名): the phone is typed."""
    if phone is not None and not PHONE_PATTERN.match(phone):
        raise ApiError(422, "PHONE_INVALID", "手机号码应为 11 位数字，以 1 开头",
                       details={"field": "phone"})
    if find_guardian(document_type, id_number) is not None:
        raise _already_bound()
    return _bind(user, name=name, document_type=document_type, id_number=id_number,
                 relation=relation, phone=phone)


def _bind(user: User, *, name: str, document_type: str, id_number: str, relation: str,
          phone: str | None) -> Guardian:
    parsed = parse_document(DocumentType(document_type), id_number, today())
    index = pii.blind_index(parsed.number, GUARDIAN_ID)
    guardian = Guardian(
        user_id=user.id, name=name.strip(), document_type=parsed.document_type,
        id_number_enc=pii.encrypt(parsed.number, GUARDIAN_ID), id_number_index=index,
        relation=Relation(relation),
        phone_enc=pii.encrypt(phone, GUARDIAN_PHONE) if phone else None,
        phone_index=pii.blind_index(phone, GUARDIAN_PHONE) if phone else None,
    )
    current_verifier().on_bind(guardian)
    db.session.add(guardian)
    _flush_unique(_already_bound())
    logger.info("identity bound user_id=%s guardian_id=%s", user.id, guardian.id)
    return guardian


def update_phone(user: User, phone_code: str) -> Guardian:
    """Replace the guardian's phone with the one WeChat vouches for."""
    guardian = require_guardian(user)
    phone = _phone_from_code(phone_code) or ""
    guardian.phone_enc = pii.encrypt(phone, GUARDIAN_PHONE)
    guardian.phone_index = pii.blind_index(phone, GUARDIAN_PHONE)
    return guardian


# --- children -------------------------------------------------------------------------


def _leaf_region(code: str, field: str) -> Region:
    region = db.session.scalar(select(Region).where(Region.code == code))
    if region is None:
        raise ApiError(422, "REGION_NOT_FOUND", "所选地址不存在，请从列表中选择",
                       details={"field": field})
    if region.level is RegionLevel.TOWN:
        raise ApiError(422, "REGION_NOT_SPECIFIC", "请选择到村或社区", details={"field": field})
    return region


def _child_document(document_type: str, id_number: str, birth_date: dt.date | None,
                    sex: str | None) -> tuple[ParsedDocument, dt.date, Sex]:
    parsed = parse_document(DocumentType(document_type), id_number, today())
    if parsed.birth_date is not None and parsed.sex is not None:
        # A resident ID number states birth date and sex: nothing to declare.
        return parsed, parsed.birth_date, parsed.sex
    if birth_date is None or sex is None:
        raise ApiError(422, "BIRTH_DATE_REQUIRED", "该证件无法识别出生日期和性别，请填写",
                       details={"field": "birth_date"})
    if birth_date > today():
        raise ApiError(422, "BIRTH_DATE_INVALID", "出生日期不能晚于今天",
                       details={"field": "birth_date"})
    return parsed, birth_date, Sex(sex)


def _special_groups(categories: list[str], disability: dict[str, Any] | None,
                    permit: dict[str, Any] | None) -> tuple[list[str], dict[str, Any] | None]:
    unique = [c for c in CATEGORIES if c in set(categories)]
    if "disability" in unique and not disability:
        raise ApiError(422, "DISABILITY_DETAILS_REQUIRED",
                       "残疾儿童请选择入学意愿（随班就读、特教学校或送教上门）",
                       details={"field": "disability"})
    if disability and "disability" not in unique:
        unique.append("disability")
    if "migrant" in unique and not permit:
        raise ApiError(422, "RESIDENCE_PERMIT_REQUIRED", "随迁子女请填写居住证信息",
                       details={"field": "residence_permit"})
    stored = None
    if disability:
        stored = {
            "placement_wish": disability["placement_wish"],
            "placement_wish_name": PLACEMENT_WISHES[disability["placement_wish"]],
            "certificate_number_enc": pii.encrypt(disability["certificate_number"],
                                                  "child.disability_certificate")
            if disability.get("certificate_number") else None,
            "note": disability.get("note", ""),
        }
    return unique, stored


def _permit(permit: dict[str, Any] | None) -> dict[str, Any] | None:
    if not permit:
        return None
    if permit.get("expires_on") and permit["expires_on"] < permit["issued_on"]:
        raise ApiError(422, "RESIDENCE_PERMIT_DATES", "居住证有效期不能早于签发日期",
                       details={"field": "residence_permit"})
    return {
        "number_enc": pii.encrypt(permit["number"].strip().upper(), PERMIT_NUMBER),
        "issued_on": permit["issued_on"].isoformat(),
        "expires_on": permit["expires_on"].isoformat() if permit.get("expires_on") else None,
        "issuing_city": permit.get("issuing_city", ""),
    }


@dataclass(frozen=True)
class ConsentGiven:
    """A guardian's consent to the current text, about to be recorded with a new child."""

    channel: ConsentChannel
    recorded_by_user_id: int | None = None  # staff, for a consent given at the counter
    version: str = CONSENT_VERSION

    def record(self, guardian_id: int) -> GuardianConsent:
        """The consent row for `guardian_id`'s new child (written with the child)."""
        return GuardianConsent(guardian_id=guardian_id, version=self.version,
                               agreed_at=utcnow(), channel=self.channel,
                               recorded_by_user_id=self.recorded_by_user_id)


def _consent_refused(code: str, message: str) -> ApiError:
    # Shaped like a validation error, so the form shows it next to the consent box.
    return ApiError(422, code, message, details={
        "field": "guardian_consent",
        "fields": [{"field": "guardian_consent", "type": code, "message": message}]})


def consent_from_guardian(version: str, agreed: bool,
                          channel: ConsentChannel) -> ConsentGiven:
    """The consent the guardian ticked, if it is to the current text (else 422)."""
    if not agreed:
        raise _consent_refused(
            "GUARDIAN_CONSENT_REQUIRED",
            "保存孩子信息前，请阅读《儿童个人信息处理监护人同意书》并勾选同意")
    if version != CONSENT_VERSION:
        raise _consent_refused(
            "GUARDIAN_CONSENT_OUTDATED", "同意书内容已更新，请重新阅读后勾选同意")
    return ConsentGiven(channel=channel)


def _child_conflict(index: str, guardian: Guardian) -> ApiError:
    owner = db.session.scalar(select(Child.guardian_id).where(Child.id_number_index == index))
    if owner == guardian.id:
        return ApiError(409, "CHILD_ALREADY_ADDED", "该儿童已在您的账号中")
    return ApiError(409, "CHILD_ALREADY_BOUND",
                    "该儿童已被其他家长账号添加。如有疑问，请携带户口簿联系报名学校核实处理")


def add_child(user: User, data: dict[str, Any], consent: ConsentGiven) -> Child:
    """Add a child to the caller's binding with the guardian's consent recorded; the ID
    number binds to one guardian only."""
    guardian = require_guardian(user)
    if len(guardian.children) >= MAX_CHILDREN:
        raise ApiError(422, "TOO_MANY_CHILDREN", f"每个账号最多添加 {MAX_CHILDREN} 名儿童")
    parsed, birth_date, sex = _child_document(
        data["document_type"], data["id_number"], data.get("birth_date"), data.get("sex"))
    if birth_date < today().replace(year=today().year - 18):
        raise ApiError(422, "NOT_A_CHILD", "该证件持有人已成年，请核对儿童证件号码",
                       details={"field": "id_number"})
    index = pii.blind_index(parsed.number, CHILD_ID)
    if db.session.scalar(select(Child.id).where(Child.id_number_index == index)):
        raise _child_conflict(index, guardian)
    categories, disability = _special_groups(
        data.get("categories") or [], data.get("disability"), data.get("residence_permit"))
    residence = data.get("residence")
    child = Child(
        guardian_id=guardian.id, name=data["name"].strip(), document_type=parsed.document_type,
        id_number_enc=pii.encrypt(parsed.number, CHILD_ID), id_number_index=index,
        birth_date=birth_date, sex=sex,
        hukou_region_id=_leaf_region(data["hukou"]["region_code"], "hukou").id,
        hukou_address=data["hukou"].get("address", ""),
        residence_region_id=_leaf_region(residence["region_code"], "residence").id
        if residence else None,
        residence_address=residence.get("address", "") if residence else "",
        residence_permit=_permit(data.get("residence_permit")),
        categories=categories, disability=disability,
        consent=consent.record(guardian.id),
    )
    db.session.add(child)
    _flush_unique(_child_conflict(index, guardian))
    # Registrations warm the intake's cache at commit, so the family can register even if
    # the database is briefly away at the opening minute.
    child_changed.send(child_ids=[child.id], added=True)
    logger.info("child added guardian_id=%s child_id=%s consent=%s/%s", guardian.id, child.id,
                consent.channel.value, consent.version)
    return child


def child_in_family(guardian: Guardian, document_type: str, id_number: str) -> Child | None:
    """The guardian's child with this document number, if it was added already."""
    parsed = parse_document(DocumentType(document_type), id_number, today())
    index = pii.blind_index(parsed.number, CHILD_ID)
    return next((c for c in guardian.children if c.id_number_index == index), None)


def list_children(user: User) -> list[Child]:
    """The caller's children (none before the binding)."""
    guardian = guardian_of(user)
    return list(guardian.children) if guardian else []


def get_child(user: User, child_id: int) -> Child:
    """One of the caller's children; anyone else's is 404 (no existence leak)."""
    child = db.session.get(Child, child_id)
    if child is None or child.guardian.user_id != user.id:
        raise ApiError(404, "CHILD_NOT_FOUND", "未找到该儿童信息")
    return child


def update_child(user: User, child_id: int, changes: dict[str, Any]) -> Child:
    """Change a child's name, addresses or groups while no registration is active."""
    child = get_child(user, child_id)
    # Locked while a registration needs the details as they were submitted (the zone
    # checked at submission must not change under it): the registrations domain answers.
    if answered_yes(child_edit_asked.send(child)):
        raise ApiError(409, "CHILD_LOCKED", "该儿童已提交报名，请通过“修改报名信息”办理")
    child_changed.send(child_ids=[child.id], added=False)
    checked_before = _checked_details(child)
    if changes.get("name"):
        child.name = changes["name"].strip()
    if changes.get("hukou"):
        child.hukou_region_id = _leaf_region(changes["hukou"]["region_code"], "hukou").id
        child.hukou_address = changes["hukou"].get("address", "")
    if "residence" in changes:
        residence = changes["residence"]
        child.residence_region_id = (
            _leaf_region(residence["region_code"], "residence").id if residence else None)
        child.residence_address = residence.get("address", "") if residence else ""
    if "residence_permit" in changes:
        child.residence_permit = _permit(changes["residence_permit"])
    if "categories" in changes or "disability" in changes:
        categories = changes.get("categories")
        if categories is None:
            categories = child.categories
        before = child.disability or {}
        disability = changes["disability"] if "disability" in changes else (
            {"placement_wish": before["placement_wish"], "note": before.get("note", "")}
            if before else None)
        permit = child.residence_permit
        child.categories, child.disability = _special_groups(categories, disability, permit)
        if (child.disability and disability and "certificate_number" not in disability
                and before.get("certificate_number_enc")):
            # A number not sent is kept: no form can show the stored one to send it back.
            child.disability = {**child.disability,
                                "certificate_number_enc": before["certificate_number_enc"]}
    after = _checked_details(child)
    changed = frozenset(name for name, value in after.items() if checked_before[name] != value)
    if changed:
        # Data checks asked with the old details no longer vouch for the new ones.
        child_details_changed.send(child_id=child.id, fields=changed, user_id=user.id)
    return child


def _checked_details(child: Child) -> dict[str, object]:
    """What data checks send about a child (events.CHECKED_DETAILS), comparable (the permit
    number decrypted: its ciphertext differs on every save)."""
    permit = child.residence_permit
    return {
        "name": child.name, "hukou_region": child.hukou_region_id,
        "residence_region": child.residence_region_id,
        "residence_permit": None if not permit else (
            pii.decrypt(permit["number_enc"], PERMIT_NUMBER), permit.get("issued_on"),
            permit.get("expires_on")),
    }


# --- disputes (one ID number bound to someone else's account) ---------------------------


@dataclass(frozen=True)
class DisputeView:
    """A dispute with its decrypted-then-masked fields, for serialisation."""

    dispute: IdentityDispute
    id_number_masked: str
    phone_masked: str | None


def open_dispute(user: User, *, authority_id: int, name: str, document_type: str,
                 id_number: str, phone_code: str | None, note: str) -> IdentityDispute:
    """Ask the bureau to resolve a number bound to another account (recorded for admins)."""
    if user.role is not Role.PARENT:
        raise ApiError(403, "FORBIDDEN", "没有权限执行此操作")
    parsed = parse_document(DocumentType(document_type), id_number, today())
    index = pii.blind_index(parsed.number, GUARDIAN_ID)
    guardian = db.session.scalar(select(Guardian).where(Guardian.id_number_index == index))
    if guardian is None:
        raise ApiError(409, "IDENTITY_NOT_BOUND", "该证件号码尚未被绑定，可直接进行实名绑定")
    if guardian.user_id == user.id:
        raise ApiError(409, "IDENTITY_ALREADY_YOURS", "该证件号码已绑定在您当前的账号上")
    open_one = db.session.scalar(select(IdentityDispute.id).where(
        IdentityDispute.requester_user_id == user.id, IdentityDispute.guardian_id == guardian.id,
        IdentityDispute.status == DisputeStatus.OPEN))
    if open_one:
        raise ApiError(409, "DISPUTE_ALREADY_OPEN", "您已提交过申诉，请等待教育局处理")
    phone = _phone_from_code(phone_code)
    dispute = IdentityDispute(
        authority_id=authority_id, requester_user_id=user.id, guardian_id=guardian.id,
        claimed_name=name.strip(), note=note.strip(),
        contact_phone_enc=pii.encrypt(phone, DISPUTE_PHONE) if phone else None,
    )
    db.session.add(dispute)
    db.session.flush()
    record_audit(db.session, action="identity.dispute_opened", actor_user_id=user.id,
                 actor_role=user.role.value, object_type="identity_dispute",
                 object_id=dispute.id)
    return dispute


def dispute_view(dispute: IdentityDispute) -> DisputeView:
    """Masked fields of a dispute."""
    number_enc = dispute.guardian.id_number_enc
    number = pii.decrypt(number_enc, GUARDIAN_ID) if number_enc else ""
    phone = (pii.decrypt(dispute.contact_phone_enc, DISPUTE_PHONE)
             if dispute.contact_phone_enc else None)
    return DisputeView(dispute, pii.mask_id_number(number) if number else "",
                       pii.mask_phone(phone) if phone else None)


def list_disputes(admin: User, status: str | None, page: int = 1,
                  page_size: int = 20) -> tuple[list[IdentityDispute], int]:
    """A page of the disputes of the admin's authority, newest first, and the total."""
    stmt = select(IdentityDispute).where(
        scope.covers_authority(admin, IdentityDispute.authority_id))
    if status:
        stmt = stmt.where(IdentityDispute.status == DisputeStatus(status))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    disputes = db.session.scalars(stmt.order_by(IdentityDispute.id.desc())
                                  .offset((page - 1) * page_size).limit(page_size))
    return list(disputes), total


def transfer_binding(guardian: Guardian, new_user_id: int) -> int:
    """Move a binding to another account with the family's children, documents and what
    the domains above follow it with (registrations, notices); the previous account's id."""
    from backend.uploads.services import transfer_uploads

    previous_user_id = guardian.user_id
    guardian.user_id = new_user_id
    # A face check proved the earlier account's holder was this person, not the new one's.
    current_verifier().on_bind(guardian)
    transfer_uploads(previous_user_id, new_user_id)
    binding_transferred.send(old_user_id=previous_user_id, new_user_id=new_user_id,
                             child_ids=[c.id for c in guardian.children])
    return previous_user_id


def _in_authority(guardian: Guardian, authority_id: int | None) -> bool:
    # A bureau decides only about families of its county (their children's household region).
    return not guardian.children or any(
        c.hukou_region.authority_id == authority_id for c in guardian.children)


def resolve_dispute(admin: User, dispute_id: int, decision: str, note: str) -> IdentityDispute:
    """Transfer the binding to the requester or reject; either way audited."""
    dispute = db.session.get(IdentityDispute, dispute_id)
    if (dispute is None or scope.scope_of(admin).authority_id != dispute.authority_id
            or not _in_authority(dispute.guardian, dispute.authority_id)):
        raise ApiError(404, "DISPUTE_NOT_FOUND", "未找到该申诉")
    if dispute.status is not DisputeStatus.OPEN:
        raise ApiError(409, "DISPUTE_ALREADY_RESOLVED", "该申诉已处理")
    guardian = dispute.guardian
    previous_user_id = guardian.user_id
    if decision == "transfer":
        if guardian_of(db.session.get(User, dispute.requester_user_id)):  # type: ignore[arg-type]
            raise ApiError(409, "REQUESTER_ALREADY_BOUND",
                           "申诉人账号已绑定其他证件，无法转移，请先核实")
        transfer_binding(guardian, dispute.requester_user_id)
        # The old account loses access to the family's data at once.
        def revoke_previous() -> None:
            revoke_all_sessions(previous_user_id)

        after_commit(revoke_previous)
        dispute.status = DisputeStatus.TRANSFERRED
    else:
        dispute.status = DisputeStatus.REJECTED
    dispute.resolution_note = note.strip()
    dispute.resolved_by_user_id = admin.id
    dispute.resolved_at = utcnow()
    record_audit(db.session, action=f"identity.dispute_{dispute.status.value}",
                 actor_user_id=admin.id, actor_role=admin.role.value,
                 object_type="identity_dispute", object_id=dispute.id,
                 details={"from_user_id": previous_user_id,
                          "to_user_id": dispute.requester_user_id
                          if decision == "transfer" else previous_user_id})
    logger.info("dispute resolved dispute_id=%s decision=%s admin_id=%s",
                dispute.id, decision, admin.id)
    return dispute
