"""Dead-letter administration: see why queued messages kept failing, and replay them.

A message is shown to the bureau of the authority it is about (each job type says how to
tell, with `@authority_of` in its domain's jobs.py); one that names no authority — an
unreadable payload, an unknown type, a failed login's audit event — concerns the whole
deployment and is shown to every bureau.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from backend.accounts import scope
from backend.accounts.models import User
from backend.audit.services import record_audit
from backend.core.db import db
from backend.core.errors import ApiError
from backend.core.jobs import AUTHORITY_OF, GROUP, STREAMS, dead_letter_key, stream_key
from backend.core.redis import redis_store
from backend.core.timeutil import local_iso
from backend.worker.registry import load_handlers

logger = logging.getLogger(__name__)

# Fields the consumer adds when it gives up on a message (not part of the message itself).
_DEAD_FIELDS = (b"reason", b"failed_at", b"original_id", b"attempts")
# Payload keys shown as the message's ids: ids, id lists and tickets, never values of people.
_ID_KEY = re.compile(r"^[a-z_]*(_id|_ids)$|^ticket$")
_MESSAGE_ID = re.compile(r"\d{1,19}-\d{1,19}")

JOB_NAMES = {
    "registration.submit": "网上报名写入",
    "registration.update": "报名修改写入",
    "audit.record": "操作日志写入",
    "stats.refresh": "报名统计刷新",
    "announcement.fanout": "公告通知家长",
    "admission.expire_offers": "逾期录取处理",
}


def reason_text(reason: str) -> str:
    """The consumer's reason for giving up on a message, explained."""
    if reason == "payload is not JSON":
        return "消息内容无法读取（不是有效的 JSON），重放也会再次失败"
    if reason.startswith("unknown job type"):
        return "没有处理该类型消息的程序（版本不一致？），请先升级后台再重放"
    return f"处理时出错：{reason}。请在服务器日志中按消息编号查看详情，修复后重放"


@dataclass(frozen=True)
class _Letter:
    """One dead letter as read from Redis, with what it is about."""

    id: str
    stream: str
    fields: dict[bytes, bytes]
    payload: dict[str, Any] | None
    authority_id: int | None


def _decode(value: bytes | str | None) -> str:
    return value.decode() if isinstance(value, bytes) else (value or "")


def _payload(fields: dict[bytes, bytes]) -> dict[str, Any] | None:
    try:
        payload = json.loads(fields.get(b"payload", b""))
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _authority(job_type: str, payload: dict[str, Any] | None) -> int | None:
    load_handlers()  # the domains' jobs modules fill AUTHORITY_OF
    find = AUTHORITY_OF.get(job_type)
    if find is None or payload is None:
        return None
    try:
        return find(db.session(), payload)
    except (KeyError, TypeError, ValueError):
        return None  # a malformed payload names nothing we can check


def _letter(stream: str, message_id: bytes | str, fields: dict[bytes, bytes]) -> _Letter:
    payload = _payload(fields)
    return _Letter(id=_decode(message_id), stream=stream, fields=fields, payload=payload,
                   authority_id=_authority(_decode(fields.get(b"type")), payload))


def _visible(admin: User, letter: _Letter) -> bool:
    return letter.authority_id is None or letter.authority_id == scope.authority_id(admin)


def _ids(payload: dict[str, Any] | None) -> dict[str, str]:
    shown: dict[str, str] = {}
    for key, value in (payload or {}).items():
        if not _ID_KEY.match(key):
            continue
        if isinstance(value, list):
            value = ",".join(str(v) for v in value[:20] if isinstance(v, int | str))
        if isinstance(value, int | str) and not isinstance(value, bool) and value != "":
            shown[key] = str(value)[:64]
    return shown


def _failed_at(raw: bytes | None) -> str:
    try:
        moment = dt.datetime.fromtimestamp(int(_decode(raw)), dt.UTC)
    except ValueError:
        return ""
    return local_iso(moment) or ""


def _out(letter: _Letter) -> dict[str, Any]:
    fields = letter.fields
    job_type = _decode(fields.get(b"type"))
    reason = _decode(fields.get(b"reason"))
    attempts = _decode(fields.get(b"attempts"))
    return {
        "id": letter.id, "stream": letter.stream, "type": job_type,
        "type_name": JOB_NAMES.get(job_type, "其他任务"), "reason": reason,
        "reason_text": reason_text(reason), "failed_at": _failed_at(fields.get(b"failed_at")),
        "attempts": int(attempts) if attempts.isdigit() else None,
        "original_id": _decode(fields.get(b"original_id")), "ids": _ids(letter.payload),
        "scope": "deployment" if letter.authority_id is None else "authority",
    }


def dead_letters(admin: User, stream: str | None = None, job_type: str | None = None,
                 page: int = 1, page_size: int = 20) -> tuple[list[dict[str, Any]], int]:
    """A page of the messages that kept failing that the admin may see, oldest first, and
    how many there are."""
    client: Any = redis_store.client
    visible = []
    for name in STREAMS:
        if stream and name != stream:
            continue
        for message_id, fields in client.xrange(dead_letter_key(name)):
            if job_type and _decode(fields.get(b"type")) != job_type:
                continue
            letter = _letter(name, message_id, fields)
            if _visible(admin, letter):
                visible.append(letter)
    start = (page - 1) * page_size
    return [_out(letter) for letter in visible[start:start + page_size]], len(visible)


def _not_found() -> ApiError:
    return ApiError(404, "DEAD_LETTER_NOT_FOUND", "未找到该失败消息")


def _find(admin: User, stream: str, message_id: str) -> _Letter:
    if stream not in STREAMS or not _MESSAGE_ID.fullmatch(message_id):
        raise _not_found()
    client: Any = redis_store.client
    found = client.xrange(dead_letter_key(stream), min=message_id, max=message_id)
    if not found:
        raise _not_found()
    letter = _letter(stream, found[0][0], found[0][1])
    if not _visible(admin, letter):
        raise _not_found()  # another authority's: the same answer as a missing one
    return letter


def replay_dead_letter(admin: User, stream: str, message_id: str) -> str:
    """Put a dead-lettered message back on its stream (after the cause was fixed); audited."""
    letter = _find(admin, stream, message_id)
    fields = {k.decode(): v for k, v in letter.fields.items() if k not in _DEAD_FIELDS}
    job_type = _decode(letter.fields.get(b"type"))
    record_audit(db.session, action="queue.replay", actor_user_id=admin.id,
                 actor_role=admin.role.value, object_type="queue_message",
                 object_id=f"{stream}/{message_id}",
                 details={"stream": stream, "type": job_type,
                          "original_id": _decode(letter.fields.get(b"original_id"))})
    client: Any = redis_store.client
    with client.pipeline() as pipe:
        pipe.xadd(stream_key(stream), fields)
        pipe.xdel(dead_letter_key(stream), message_id)
        new_id, _deleted = pipe.execute()
    logger.info("dead letter replayed stream=%s message_id=%s new_id=%s group=%s by=%s",
                stream, message_id, _decode(new_id), GROUP, admin.id)
    return _decode(new_id)


def message_state(admin: User, stream: str, message_id: str) -> dict[str, Any]:
    """What became of a message: waiting on its stream, dead-lettered again, or processed
    (acknowledged and removed: neither on the stream nor among the dead letters)."""
    if stream not in STREAMS or not _MESSAGE_ID.fullmatch(message_id):
        raise ApiError(404, "MESSAGE_NOT_FOUND", "未找到该消息")
    client: Any = redis_store.client
    state: dict[str, Any] = {"stream": stream, "message_id": message_id, "state": "processed"}
    waiting = client.xrange(stream_key(stream), min=message_id, max=message_id)
    if waiting:
        letter = _letter(stream, waiting[0][0], waiting[0][1])
        state["state"] = "queued"
    else:
        # A dead letter is written after its message, so its id is the later one.
        letter = None
        for dead_id, fields in client.xrange(dead_letter_key(stream), min=message_id):
            if _decode(fields.get(b"original_id")) == message_id:
                letter = _letter(stream, dead_id, fields)
                reason = _decode(fields.get(b"reason"))
                state.update(state="failed", reason=reason, reason_text=reason_text(reason),
                             dead_letter_id=letter.id)
                break
    if letter is not None and not _visible(admin, letter):
        raise ApiError(404, "MESSAGE_NOT_FOUND", "未找到该消息")
    return state
