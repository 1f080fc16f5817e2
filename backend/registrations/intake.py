"""Registration intake, the Redis side: read the facts, run the checks, queue atomically.

The checks themselves are pure (`checks.py`). One Lua script does idempotency, the
one-active-registration-per-child rule for submissions in flight, backpressure and the XADD
in one step, so two submissions can never both pass. The worker turns queued submissions
into rows; nothing here ranks by time (报名先后不影响录取).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

import redis
from flask import current_app, request

from backend.core.auth import read_session
from backend.core.db import db, utcnow
from backend.core.errors import ApiError
from backend.core.jobs import INTAKE, stream_key
from backend.core.redis import redis_store
from backend.core.sessions import SessionInfo
from backend.registrations import catalog, checks, facts
from backend.registrations.checks import Checked, already_registered
from backend.registrations.models import Registration, RegistrationStatus

logger = logging.getLogger(__name__)

IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_\-:.]{8,64}$")
TICKET_TTL = 60 * 24 * 3600  # tickets and holder keys outlive any registration window

# KEYS: idempotency, child holder, stream, ticket hash, sequence, processed counter
# ARGV: ticket, payload, ttl, max backlog, user id, hold the child ('1'/'0'), job type
_SUBMIT = """
local existing = redis.call('GET', KEYS[1])
if existing then return {'duplicate', existing} end
local hold = ARGV[6] == '1'
if hold then
  local holder = redis.call('GET', KEYS[2])
  if holder then return {'conflict', holder} end
end
if redis.call('XLEN', KEYS[3]) >= tonumber(ARGV[4]) then return {'full', ''} end
local seq = redis.call('INCR', KEYS[5])
redis.call('XADD', KEYS[3], '*', 'type', ARGV[7], 'payload', ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
if hold then redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[3]) end
redis.call('HSET', KEYS[4], 'state', 'queued', 'user', ARGV[5], 'seq', seq)
redis.call('EXPIRE', KEYS[4], ARGV[3])
local done = tonumber(redis.call('GET', KEYS[6]) or '0')
return {'queued', ARGV[1], math.max(seq - done, 1)}
"""


def _redis() -> Any:
    # redis-py's annotations mix the sync and async clients; this one is sync.
    return redis_store.client


_submit_script: Any = None


def _run_submit_script(keys: list[Any], args: list[Any]) -> Any:
    """EVALSHA, loading the script on the first NOSCRIPT (its body is not resent each time)."""
    global _submit_script
    if _submit_script is None:
        _submit_script = _redis().register_script(_SUBMIT)
    return _submit_script(keys=keys, args=args, client=_redis())


def intake_key(*parts: object) -> str:
    """A key in the intake's hash slot."""
    return redis_store.key(INTAKE, *parts)


def ticket_key(ticket: str) -> str:
    """The Redis hash holding a ticket's state."""
    return intake_key("ticket", ticket)


def child_holder_key(season_id: int, child_id: int) -> str:
    """Set while a child has a submission queued or an active registration this season."""
    return intake_key("child", season_id, child_id)


def _seq_key() -> str:
    return intake_key("seq")


def processed_key() -> str:
    """How many submissions the workers have finished (for queue positions)."""
    return intake_key("processed")


@dataclass(frozen=True)
class Receipt:
    """What a 202 promises: a ticket, its state and where it stands in the queue."""

    ticket: str
    state: str
    position: int | None


def current_receipt(ticket: str) -> Receipt:
    """A ticket's state now, with its queue position while queued."""
    state, processed = read_ticket(ticket)
    return receipt_from(ticket, state, processed)


def read_ticket(ticket: str) -> tuple[dict[bytes, bytes], bytes | None]:
    """A ticket's Redis hash and the workers' processed count, in one round trip."""
    with _redis().pipeline(transaction=False) as pipe:
        pipe.hgetall(ticket_key(ticket))
        pipe.get(processed_key())
        state, processed = pipe.execute()
    return state, processed


def receipt_from(ticket: str, state: dict[bytes, bytes], processed: bytes | None) -> Receipt:
    """A ticket's receipt from its hash and the processed count (read_ticket's values)."""
    status = (state.get(b"state") or b"queued").decode()
    position = None
    if status == "queued":
        position = max(int(state.get(b"seq") or 0) - int(processed or 0), 1)
    return Receipt(ticket=ticket, state=status, position=position)


def read_follower(ticket: str) -> tuple[SessionInfo | None, dict[bytes, bytes], bytes | None]:
    """The caller's session, the ticket's hash and the processed count: one round trip."""
    info, values = read_session(keys=lambda: [processed_key()],
                                hashes=lambda: [ticket_key(ticket)], web_roles=("parent",))
    return info, values.get(ticket_key(ticket)) or {}, values.get(processed_key())


def queue_submission(idem: str, holder: str, ticket: str, payload: str, user_id: int,
                     job_type: str = "registration.submit") -> tuple[str, str]:
    """The atomic step: (queued|duplicate|conflict|full, ticket or holder).

    A new registration holds the child (one in flight at a time); an edit does not.
    """
    outcome, value, _position = _run_script(idem, holder, ticket, payload, user_id, job_type)
    return outcome, value


def _run_script(idem: str, holder: str, ticket: str, payload: str, user_id: int,
                job_type: str) -> tuple[str, str, int | None]:
    hold = "1" if job_type == "registration.submit" else "0"
    replicas = _replicas_to_wait_for()
    keys = [idem, holder, stream_key(INTAKE), ticket_key(ticket), _seq_key(), processed_key()]
    args = [ticket, payload, TICKET_TTL, int(current_app.config["INTAKE_MAX_BACKLOG"]),
            user_id, hold, job_type]
    if replicas:
        # One pipeline, so WAIT runs on the connection that wrote (WAIT covers only its own).
        with _redis().pipeline(transaction=False) as pipe:
            pipe.eval(_SUBMIT, len(keys), *keys, *args)
            pipe.execute_command("WAIT", replicas,
                                 int(current_app.config["INTAKE_WAIT_TIMEOUT_MS"]))
            replies = pipe.execute()
    else:
        replies = [_run_submit_script(keys, args)]
    result = [v.decode() if isinstance(v, bytes) else v for v in replies[0]]
    if replicas and result[0] == "queued":
        _check_acknowledged(int(replies[1]), replicas)
    if result[0] == "duplicate":
        _confirm_earlier(idem)  # a retry: the first write must have reached the replicas
    # The script also returns the queue position, which saves two round trips.
    return str(result[0]), str(result[1]), int(result[2]) if len(result) > 2 else None


def _queued(outcome: str, value: str, ticket: str, user_id: int,
            position: int | None) -> Receipt:
    if outcome == "duplicate":
        return current_receipt(value)
    if outcome == "conflict":
        raise already_registered()
    if outcome == "full":
        raise ApiError(503, "QUEUE_FULL", "报名人数较多，请稍后再提交（报名先后不影响录取）",
                       headers={"Retry-After": str(current_app.config["INTAKE_RETRY_AFTER"])})
    logger.debug("intake queued user_id=%s ticket=%s", user_id, ticket)
    return Receipt(ticket=ticket, state="queued", position=position)


def _earlier_answer(user_id: int, idempotency_key: str) -> tuple[str, Receipt | None]:
    """The idempotency key's Redis name, and the receipt if this key was seen before."""
    idem = _idempotency_key(user_id, idempotency_key)
    return idem, _earlier_receipt(idem, _redis().get(idem))


def _idempotency_key(user_id: int, idempotency_key: str) -> str:
    if not IDEMPOTENCY_KEY.match(idempotency_key or ""):
        raise ApiError(400, "IDEMPOTENCY_KEY_REQUIRED",
                       "缺少或无效的 Idempotency-Key 请求头（8-64 位字母、数字）")
    return intake_key("idem", user_id, idempotency_key)


def _earlier_receipt(idem: str, known: Any) -> Receipt | None:
    if known is None:
        return None
    # A retry of a submission we already took gets the same answer, whatever changed since.
    _confirm_earlier(idem)
    return current_receipt(known.decode())


def read_facts(idem: str | None, child_id: int,
               upload_ids: list[str]) -> tuple[Any, Any, list[Any]]:
    """The key's earlier answer and the child's and documents' cached facts, in one trip."""
    # The session was read in the rate limits' round trip: a submission costs three.
    with _redis().pipeline(transaction=False) as pipe:
        pipe.get(idem or intake_key("none"))
        pipe.get(facts.child_key(child_id))
        if upload_ids:
            pipe.mget([facts.upload_key(u) for u in upload_ids])
        replies = pipe.execute()
    return replies[0], replies[1], replies[2] if upload_ids else []


def check_submission(user_id: int, *, child_id: int, school_code: str, basis: str,
                     upload_ids: list[str], cached_child: Any, cached_uploads: list[Any],
                     now: dt.datetime) -> Checked:
    """Look the school and season up in the catalogue, parse the cached facts, check them."""
    school = catalog.school(school_code)
    season = catalog.season(school.authority_id)
    return checks.check_submission(
        user_id, school=school, season=season, child_id=child_id,
        child=facts.child_from(child_id, cached_child), basis=basis, upload_ids=upload_ids,
        owned=facts.uploads_from(upload_ids, cached_uploads), now=now)


MAX_PREFETCHED_UPLOADS = 20


def submit_keys(body: Any) -> list[str]:
    """The cached facts a submission body names, to read with the caller's session."""
    if not isinstance(body, dict):
        return []
    keys = []
    child_id = body.get("child_id")
    if isinstance(child_id, int) and not isinstance(child_id, bool):
        keys.append(facts.child_key(child_id))
    uploads = body.get("upload_ids")
    if isinstance(uploads, list):
        keys += [facts.upload_key(u) for u in uploads[:MAX_PREFETCHED_UPLOADS]
                 if isinstance(u, str) and len(u) <= 64]
    return keys


def read_submitter(limits: tuple[str, ...]) -> tuple[SessionInfo | None, dict[str, Any]]:
    """The caller's session, its rate-limit windows and the facts the body names: one trip.

    Runs before the body is validated (authentication and limits come first), so the keys
    are taken from the raw JSON; `cached_facts` reads whatever this could not interpret.
    The caller is the phone's bearer token or, without one, a parent's PC session cookie
    (read in the same trip; its CSRF token is checked after).
    """
    return read_session(limits, keys=lambda: submit_keys(request.get_json(silent=True)),
                        web_roles=("parent",))


def cached_facts(cached: dict[str, Any], child_id: int,
                 upload_ids: list[str]) -> tuple[Any, list[Any]]:
    """The child's and documents' raw cached facts, from `cached` or read now if missing."""
    keys = [facts.child_key(child_id), *(facts.upload_key(u) for u in upload_ids)]
    values = dict(cached)
    missing = [k for k in keys if k not in values]
    if missing:  # a body the pre-read could not interpret: read what is left now
        values.update(zip(missing, _redis().mget(missing), strict=True))
    return values[keys[0]], [values[k] for k in keys[1:]]


def submit(user_id: int, *, idempotency_key: str, child_id: int, school_code: str,
           basis: str, upload_ids: list[str], now: dt.datetime | None = None,
           cached: dict[str, Any] | None = None) -> Receipt:
    """Check a submission and queue it; the same key always gives the same ticket.

    `cached`: the facts `submit_keys` named, read with the session (`read_submitter`);
    then the key's earlier answer is left to the queueing script (and, when a check fails,
    looked up so a retry still gets its ticket), which saves a round trip on every
    submission.
    """
    idem = _idempotency_key(user_id, idempotency_key)
    if cached is None:
        known, cached_child, cached_uploads = read_facts(idem, child_id, upload_ids)
        earlier = _earlier_receipt(idem, known)
        if earlier is not None:
            return earlier
    else:
        cached_child, cached_uploads = cached_facts(cached, child_id, upload_ids)
    try:
        _check_durable_redis()
        now = now or utcnow()
        checked = check_submission(user_id, child_id=child_id, school_code=school_code,
                                   basis=basis, upload_ids=upload_ids,
                                   cached_child=cached_child, cached_uploads=cached_uploads,
                                   now=now)
    except ApiError:
        # A retry of a submission already taken gets the same answer, whatever changed since.
        earlier = _earlier_receipt(idem, _redis().get(idem)) if cached is not None else None
        if earlier is not None:
            return earlier
        raise
    # One active registration per child: the holder key in the script below decides at
    # once; the worker's unique index is the last word (no database read on this path).
    ticket = "T" + secrets.token_hex(12)
    payload = _submission(ticket, user_id, child_id, checked, basis, upload_ids, now)
    outcome, value, position = _run_script(idem, child_holder_key(checked.season.id, child_id),
                                           ticket, payload, user_id, "registration.submit")
    return _queued(outcome, value, ticket, user_id, position)


def _submission(ticket: str, user_id: int, child_id: int, checked: Checked, basis: str,
                upload_ids: list[str], now: dt.datetime, **extra: object) -> str:
    """The queued message of a new registration, as the worker reads it."""
    return json.dumps({
        "ticket": ticket, "user_id": user_id, "child_id": child_id,
        "season_id": checked.season.id, "school_id": checked.school.id, "basis": basis,
        "out_of_zone": checked.out_of_zone, "upload_ids": sorted(set(upload_ids)),
        "submitted_at": now.isoformat(), **extra,
    })


# --- 代报名: staff submit for a family they have just entered at the counter -------------


def require_idempotency_key(idempotency_key: str) -> None:
    """400 IDEMPOTENCY_KEY_REQUIRED unless the header is a usable key."""
    _idempotency_key(0, idempotency_key)


def earlier_receipt(user_id: int, idempotency_key: str) -> Receipt | None:
    """The receipt this key already got for this family (a retry), else None (400: bad key)."""
    return _earlier_answer(user_id, idempotency_key)[1]


@dataclass(frozen=True)
class Pending:
    """A submission that passed every check, to queue once the rows it names are committed."""

    idem: str
    holder: str
    ticket: str
    payload: str
    user_id: int
    school_id: int


def prepare_entered(user_id: int, *, entered_by_user_id: int, entered_by_role: str,
                    idempotency_key: str, child_id: int, school_code: str, basis: str,
                    upload_ids: list[str], now: dt.datetime | None = None) -> Pending:
    """The checks of `submit`, for a family staff entered in this very request.

    The facts come from the request's own transaction, not the fact cache (which cannot
    know uncommitted rows); the message is queued by `queue_entered` after the commit, so
    the worker never looks for a family that is not there yet.
    """
    idem = _idempotency_key(user_id, idempotency_key)
    _check_durable_redis()
    now = now or utcnow()
    school = catalog.school(school_code)
    season = catalog.season(school.authority_id)
    checked = checks.check_submission(
        user_id, school=school, season=season, child_id=child_id,
        child=facts.read_child(child_id), basis=basis, upload_ids=upload_ids,
        owned=facts.read_uploads(upload_ids), now=now)
    holder = child_holder_key(season.id, child_id)
    # The queueing script decides; asking first spares writing a family for nothing.
    if _redis().exists(holder):
        raise already_registered()
    ticket = "T" + secrets.token_hex(12)
    payload = _submission(ticket, user_id, child_id, checked, basis, upload_ids, now,
                          entered_by_user_id=entered_by_user_id,
                          entered_by_role=entered_by_role)
    return Pending(idem=idem, holder=holder, ticket=ticket, payload=payload, user_id=user_id,
                   school_id=checked.school.id)


def queue_entered(pending: Pending) -> Receipt:
    """Queue a prepared submission through the same script as `submit`; its ticket names
    the school, so the staff who entered it can follow it."""
    outcome, value, position = _run_script(pending.idem, pending.holder, pending.ticket,
                                           pending.payload, pending.user_id,
                                           "registration.submit")
    receipt = _queued(outcome, value, pending.ticket, pending.user_id, position)
    if outcome == "queued":
        _redis().hset(ticket_key(pending.ticket), "school", pending.school_id)
    return receipt


def ticket_school(ticket: str) -> tuple[int, int] | None:
    """(owner user id, school id) of a ticket staff entered, from Redis; None if unknown."""
    owner, school = _redis().hmget(ticket_key(ticket), ["user", "school"])
    if owner is None or school is None:
        return None
    return int(owner), int(school)


EDITABLE = (RegistrationStatus.SUBMITTED, RegistrationStatus.RETURNED)


def submit_edit(user_id: int, registration_id: int, *, idempotency_key: str, basis: str,
                upload_ids: list[str], now: dt.datetime | None = None) -> Receipt:
    """Queue a change of basis or documents (e.g. a fix the school asked for)."""
    # Imported here: the transition table is the one place that says who may edit when.
    from backend.registrations.transitions import Action, Actor, allowed

    idem, earlier = _earlier_answer(user_id, idempotency_key)
    if earlier is not None:
        return earlier
    _check_durable_redis()
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.submitted_by_user_id != user_id:
        raise ApiError(404, "REGISTRATION_NOT_FOUND", "未找到该报名记录")
    if not allowed(registration.status, Actor.PARENT, Action.RESUBMIT):
        raise ApiError(409, "REGISTRATION_NOT_EDITABLE", "该报名当前状态不能修改，请联系学校")
    now = now or utcnow()
    school = catalog.school(registration.school.code)
    if registration.status is RegistrationStatus.SUBMITTED:
        # While review has not started, edits follow the registration window; a return
        # for correction carries its own fix deadline.
        checks.check_window(catalog.season(school.authority_id), now)
    elif registration.fix_deadline is not None and now >= registration.fix_deadline:
        # The fix window the reviewer set is over: the school decides what happens next.
        deadline = checks.local_text(registration.fix_deadline,
                                     registration.school.authority.timezone)
        raise ApiError(409, "FIX_DEADLINE_PASSED",
                       f"修改期限已于{deadline}截止，不能再修改，请联系学校",
                       details={"fix_deadline": registration.fix_deadline.isoformat()})
    child = facts.child(registration.child_id)
    if child is None or child.owner_user_id != user_id:
        raise ApiError(404, "REGISTRATION_NOT_FOUND", "未找到该报名记录")
    registration_basis, out_of_zone = checks.placement(school, child, basis)
    checks.check_documents(user_id, registration_basis, child.categories, upload_ids,
                           facts.uploads(upload_ids), verified=child.verified,
                           refused=child.refused)
    ticket = "T" + secrets.token_hex(12)
    payload = json.dumps({
        "ticket": ticket, "user_id": user_id, "registration_id": registration.id,
        "basis": basis, "out_of_zone": out_of_zone, "upload_ids": sorted(set(upload_ids)),
        "submitted_at": now.isoformat(),
    })
    outcome, value, position = _run_script(idem, intake_key("none"), ticket, payload,
                                           user_id, "registration.update")
    return _queued(outcome, value, ticket, user_id, position)


_durable_until = 0.0


def _check_durable_redis() -> None:
    """INTAKE_DURABILITY=aof: Redis must fsync every write before the 202 goes out."""
    global _durable_until
    if current_app.config["INTAKE_DURABILITY"] != "aof" or time.monotonic() < _durable_until:
        return
    persistence = _redis().info("persistence")
    fsync = None
    try:
        fsync = _redis().config_get("appendfsync").get("appendfsync")
    except redis.ResponseError:  # managed Redis may refuse CONFIG: trust aof_enabled
        logger.warning("cannot read appendfsync; relying on aof_enabled")
    if not persistence.get("aof_enabled") or fsync not in (None, "always"):
        logger.error("intake refused: Redis is not running appendonly with appendfsync always")
        raise ApiError(503, "INTAKE_NOT_DURABLE", "报名服务暂不可用，请稍后再试",
                       headers={"Retry-After": "30"})
    _durable_until = time.monotonic() + 60  # checked once a minute per process


def _replicas_to_wait_for() -> int:
    # A 202 is a promise: in "wait" mode enough replicas must hold the submission.
    if current_app.config["INTAKE_DURABILITY"] != "wait":
        return 0
    return max(int(current_app.config["INTAKE_WAIT_REPLICAS"]), 0)


def _confirm_earlier(idem: str) -> None:
    """A retry after INTAKE_NOT_CONFIRMED: confirm the first write reached the replicas."""
    replicas = _replicas_to_wait_for()
    if not replicas:
        return
    with _redis().pipeline(transaction=False) as pipe:
        pipe.expire(idem, TICKET_TTL)  # a write on this connection for WAIT to cover
        pipe.execute_command("WAIT", replicas,
                             int(current_app.config["INTAKE_WAIT_TIMEOUT_MS"]))
        _touched, acked = pipe.execute()
    _check_acknowledged(int(acked), replicas)


def _check_acknowledged(acked: int, replicas: int) -> None:
    if acked < replicas:
        # The submission is queued and will be processed; the client retries with the same
        # key and gets the same ticket.
        logger.error("intake durability not confirmed acked=%s wanted=%s", acked, replicas)
        raise ApiError(503, "INTAKE_NOT_CONFIRMED", "提交结果未确认，请稍后用同一请求重试",
                       headers={"Retry-After": "2"})


def ticket_owner(ticket: str) -> int | None:
    """The user a ticket belongs to, from Redis (None when unknown or expired)."""
    owner = _redis().hget(ticket_key(ticket), "user")
    return int(owner) if owner is not None else None


def release_child(season_id: int, child_id: int, pipe: Any = None) -> None:
    """Let a child be submitted again (rejected or withdrawn registration)."""
    (pipe or _redis()).delete(child_holder_key(season_id, child_id))


def mark_ticket(ticket: str, pipe: Any = None, **fields: Any) -> None:
    """Record a ticket's outcome (accepted with its registration, or rejected)."""
    (pipe or _redis()).hset(ticket_key(ticket),
                            mapping={k: str(v) for k, v in fields.items()})
