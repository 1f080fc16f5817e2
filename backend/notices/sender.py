"""The outbox sender: delivers pending notices as WeChat subscribe messages, at most once.

1. Claim: one transaction takes a batch of due pending notices (PostgreSQL: ``SELECT … FOR
   UPDATE SKIP LOCKED``, so parallel senders never take the same row), marks them
   ``sending`` with this claim's token, and commits.
2. Start, per notice: one transaction checks the claim is still ours, stamps
   ``sending_at``, uses a local credit (none: ``not_subscribed``, WeChat is not called)
   and commits — before WeChat is called.
3. Call WeChat, then record the answer in a third transaction.

A sender that dies after step 2 leaves a ``sending`` row with ``sending_at``: after
NOTICE_SENDING_TIMEOUT_SECONDS it becomes ``uncertain`` and is never sent again. A claimed
row that was never started goes back to ``pending``. Only answers that prove WeChat did
not take the message (busy, rate limits, token errors, no connection) are retried.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import CursorResult, Table, or_, select, update
from sqlalchemy.orm import Session

from backend.accounts.models import User
from backend.core.db import db, utcnow
from backend.core.timeutil import zone as zone_named
from backend.notices import services
from backend.notices.models import Notice, NoticeStatus
from backend.notices.templates import FieldError, Template, templates_from_config, wechat_data
from backend.wechat.client import (
    RATE_LIMIT_ERRCODES,
    TOKEN_ERRCODES,
    WeChatAdapter,
    WeChatError,
    WeChatOutcomeUnknown,
    WeChatUnavailable,
    wechat,
)

logger = logging.getLogger(__name__)

NOTICES = cast(Table, Notice.__table__)
MAX_ERROR_CHARS = 500
# 45011 is a per-minute quota: waiting less than a minute cannot help.
RATE_LIMIT_MIN_WAIT = 60.0
_FIELD_IN_ERRMSG = re.compile(r"data\.(\w+)\.value")


@dataclass(frozen=True)
class SenderSettings:
    """Tuning of the sender (NOTICE_* settings)."""

    templates: Mapping[str, Template]
    batch_size: int = 20
    poll_seconds: float = 1.0
    max_attempts: int = 5
    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 1800.0
    sending_timeout_seconds: float = 300.0
    miniprogram_state: str | None = "formal"
    zone: ZoneInfo = field(default_factory=zone_named)
    # How often stale claims are looked for.
    recover_every_s: float = 15.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SenderSettings:
        """Settings from an app config."""
        return cls(
            templates=templates_from_config(config),
            batch_size=int(config.get("NOTICE_SENDER_BATCH_SIZE", 20)),
            poll_seconds=float(config.get("NOTICE_SENDER_POLL_SECONDS", 1.0)),
            max_attempts=int(config.get("NOTICE_MAX_ATTEMPTS", 5)),
            retry_base_seconds=float(config.get("NOTICE_RETRY_BASE_SECONDS", 30.0)),
            retry_max_seconds=float(config.get("NOTICE_RETRY_MAX_SECONDS", 1800.0)),
            sending_timeout_seconds=float(config.get("NOTICE_SENDING_TIMEOUT_SECONDS", 300.0)),
            miniprogram_state=config.get("NOTICE_MINIPROGRAM_STATE") or None,
            zone=zone_named(config.get("DISPLAY_TIMEZONE")),
        )


@dataclass(frozen=True)
class Claimed:
    """A notice this sender has taken, with what the send needs."""

    id: int
    user_id: int
    openid: str | None
    template_key: str
    data: dict[str, Any]
    page: str | None


@dataclass(frozen=True)
class Outcome:
    """How one send ended, for the outbox row."""

    status: NoticeStatus
    error: str | None = None
    retry: bool = False  # WeChat provably did not take it: pending again, with backoff
    min_wait: float = 0.0
    credit_unused: bool = False  # WeChat refused before using the user's credit
    no_credit: bool = False  # 43101: WeChat holds no credit for this user and template


@dataclass
class SendReport:
    """What one round did, by final status (for logs and tests)."""

    claimed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def add(self, status: str) -> None:
        """Count one notice's outcome."""
        self.outcomes[status] = self.outcomes.get(status, 0) + 1


def _short(text: str) -> str:
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


class NoticeSender:
    """Sends the outbox; several may run at once (each worker process runs one)."""

    def __init__(self, settings: SenderSettings, adapter: WeChatAdapter | None = None,
                 name: str | None = None,
                 session_factory: Callable[[], Session] | None = None) -> None:
        self.settings = settings
        self.adapter = adapter or wechat
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        self.session_factory = session_factory or db.session_factory
        self.stop_event = threading.Event()
        # Tests move time with this; production uses the wall clock.
        self.clock: Callable[[], dt.datetime] = utcnow
        # Called with the notice id after WeChat answered and before the answer is
        # recorded: lets tests stand in for a sender that dies at the worst moment.
        self.after_answer: Callable[[int], None] | None = None
        self._last_recovery = float("-inf")

    # --- the loop ---------------------------------------------------------------------

    def stop(self) -> None:
        """Finish the notice in hand and return from run()."""
        self.stop_event.set()

    def run(self) -> None:
        """Send until stop(): poll the outbox, back off while the database is away."""
        logger.info("notice sender started name=%s", self.name)
        backoff = 0.0
        while not self.stop_event.is_set():
            try:
                report = self.run_once()
                backoff = 0.0
            except Exception:
                # Database or Redis away: claims left behind are recovered by the timeout.
                backoff = min(backoff * 2 or 1.0, 30.0)
                logger.exception("notice sender round failed, retrying in %.0f s", backoff)
                self.stop_event.wait(backoff)
                continue
            if report.claimed < self.settings.batch_size:
                self.stop_event.wait(self.settings.poll_seconds)
        logger.info("notice sender stopped name=%s", self.name)

    def run_once(self) -> SendReport:
        """Recover stale claims when due, then claim and send one batch."""
        if time.monotonic() - self._last_recovery >= self.settings.recover_every_s:
            self._last_recovery = time.monotonic()
            self.recover_stale()
        report = SendReport()
        token, batch = self.claim()
        report.claimed = len(batch)
        handled = 0
        try:
            for notice in batch:
                if self.stop_event.is_set():
                    break
                report.add(self.deliver(token, notice).value)
                handled += 1
        finally:
            if handled < len(batch):
                self._release_quietly(token)
        return report

    def _release_quietly(self, token: str) -> None:
        # Stopped or failed mid-batch: the unstarted rest go back to pending for another
        # sender now, instead of after the timeout. Started ones stay as they are.
        try:
            self.release(token)
        except Exception:
            logger.warning("could not release notice claims sender=%s; the timeout will",
                           self.name)

    # --- claiming ---------------------------------------------------------------------

    def claim(self) -> tuple[str, list[Claimed]]:
        """Take up to batch_size due pending notices and commit them as ``sending``."""
        token = f"{self.name[:40]}-{uuid.uuid4().hex[:16]}"
        now = self.clock()
        with self.session_factory() as session:
            due = (select(NOTICES.c.id)
                   .where(NOTICES.c.status == NoticeStatus.PENDING,
                          or_(NOTICES.c.next_attempt_at.is_(None),
                              NOTICES.c.next_attempt_at <= now))
                   # Oldest first, along ix_notices_status_created (ids break ties).
                   .order_by(NOTICES.c.created_at, NOTICES.c.id)
                   .limit(self.settings.batch_size))
            if session.get_bind().dialect.name == "postgresql":
                # Rows another sender is claiming right now are skipped, not waited for.
                due = due.with_for_update(skip_locked=True)
            ids = list(session.scalars(
                update(NOTICES).where(NOTICES.c.id.in_(due.scalar_subquery()))
                .values(status=NoticeStatus.SENDING, claimed_by=token, claimed_at=now,
                        sending_at=None)
                .returning(NOTICES.c.id)))
            rows = session.execute(
                select(NOTICES.c.id, NOTICES.c.user_id, User.openid, NOTICES.c.template_key,
                       NOTICES.c.data, NOTICES.c.page)
                .join(User, User.id == NOTICES.c.user_id)
                .where(NOTICES.c.id.in_(ids))
                .order_by(NOTICES.c.created_at, NOTICES.c.id)).all() if ids else []
            session.commit()
        if rows:
            logger.info("notices claimed sender=%s count=%s", self.name, len(rows))
        return token, [Claimed(id=r[0], user_id=r[1], openid=r[2], template_key=r[3],
                               data=dict(r[4] or {}), page=r[5]) for r in rows]

    def release(self, token: str) -> int:
        """Give back this claim's notices that were never started (a clean stop)."""
        with self.session_factory() as session:
            result = cast(CursorResult[Any], session.execute(
                update(NOTICES).where(NOTICES.c.claimed_by == token,
                                      NOTICES.c.status == NoticeStatus.SENDING,
                                      NOTICES.c.sending_at.is_(None))
                .values(status=NoticeStatus.PENDING, claimed_by=None, claimed_at=None)))
            session.commit()
            return result.rowcount

    def recover_stale(self) -> tuple[int, int]:
        """Claims of senders that died: unstarted ones back to pending, started ones uncertain.

        A started send may have reached WeChat: it is never sent again (at most once).
        """
        cutoff = self.clock() - dt.timedelta(seconds=self.settings.sending_timeout_seconds)
        with self.session_factory() as session:
            reopened = cast(CursorResult[Any], session.execute(
                update(NOTICES).where(NOTICES.c.status == NoticeStatus.SENDING,
                                      NOTICES.c.sending_at.is_(None),
                                      NOTICES.c.claimed_at < cutoff)
                .values(status=NoticeStatus.PENDING, claimed_by=None, claimed_at=None)))
            uncertain = cast(CursorResult[Any], session.execute(
                update(NOTICES).where(NOTICES.c.status == NoticeStatus.SENDING,
                                      NOTICES.c.sending_at < cutoff)
                .values(status=NoticeStatus.UNCERTAIN, sent_at=NOTICES.c.sending_at,
                        last_error="发送方在记录微信答复前中断：可能已送达，不再重发"
                                   " (sender stopped before recording WeChat's answer)")))
            session.commit()
        if reopened.rowcount or uncertain.rowcount:
            logger.warning("stale notice claims recovered pending=%s uncertain=%s",
                           reopened.rowcount, uncertain.rowcount)
        return reopened.rowcount, uncertain.rowcount

    # --- one notice -------------------------------------------------------------------

    def deliver(self, token: str, notice: Claimed) -> NoticeStatus:
        """Start, send and record one claimed notice; its final (or next) status."""
        template = self.settings.templates.get(notice.template_key)
        if template is None:
            return self._finish_unsent(token, notice, NoticeStatus.FAILED,
                                       f"未配置通知模板 (no template for {notice.template_key})")
        try:
            body = wechat_data(template, notice.data, self.settings.zone)
        except FieldError as exc:
            # Nothing WeChat would accept: fail without calling it or using a credit.
            return self._finish_unsent(token, notice, NoticeStatus.FAILED, _short(
                f"字段无效 {exc.field} ({self._data_key(template, exc.field)}): {exc.reason}"))
        if not notice.openid:
            return self._finish_unsent(token, notice, NoticeStatus.FAILED,
                                       "该用户没有微信 openid (no WeChat account)")
        started = self._start(token, notice)
        if started is not NoticeStatus.SENDING:
            return started
        outcome = self._send(notice, template, body)
        if self.after_answer is not None:
            self.after_answer(notice.id)
        return self._record(token, notice, outcome)

    def _data_key(self, template: Template, wechat_field: str) -> str:
        return dict(template.fields).get(wechat_field, "?")

    def _finish_unsent(self, token: str, notice: Claimed, status: NoticeStatus,
                       error: str) -> NoticeStatus:
        with self.session_factory() as session:
            session.execute(update(NOTICES).where(NOTICES.c.id == notice.id,
                                                  NOTICES.c.claimed_by == token,
                                                  NOTICES.c.status == NoticeStatus.SENDING,
                                                  NOTICES.c.sending_at.is_(None))
                            .values(status=status, last_error=error))
            session.commit()
        logger.info("notice not sent id=%s status=%s", notice.id, status.value)
        return status

    def _start(self, token: str, notice: Claimed) -> NoticeStatus:
        """Commit the start of the call (and the credit it uses) before WeChat is called."""
        mine = (NOTICES.c.id == notice.id, NOTICES.c.claimed_by == token,
                NOTICES.c.status == NoticeStatus.SENDING, NOTICES.c.sending_at.is_(None))
        with self.session_factory() as session:
            # The row lock taken here also keeps a recovering sender off it until commit.
            held = cast(CursorResult[Any], session.execute(
                update(NOTICES).where(*mine).values(claimed_at=self.clock())))
            if held.rowcount != 1:
                # Recovered as stale while this sender was slow: not ours any more.
                logger.warning("notice claim lost id=%s sender=%s", notice.id, self.name)
                return NoticeStatus.PENDING
            if not services.take_credit(session, notice.user_id, notice.template_key):
                # One-time subscription: no accepted credit, so WeChat would answer 43101.
                session.execute(update(NOTICES).where(*mine).values(
                    status=NoticeStatus.NOT_SUBSCRIBED,
                    last_error="家长未订阅此类通知，未发送微信消息，仅在站内信显示"
                               " (no subscription credit)"))
                session.commit()
                logger.info("notice not subscribed id=%s", notice.id)
                return NoticeStatus.NOT_SUBSCRIBED
            session.execute(update(NOTICES).where(*mine).values(
                sending_at=self.clock(), attempts=NOTICES.c.attempts + 1))
            session.commit()
        return NoticeStatus.SENDING

    def _send(self, notice: Claimed, template: Template, body: dict[str, Any]) -> Outcome:
        """Call WeChat and classify the answer; never raises for WeChat's sake."""
        try:
            msgid = self.adapter.send_subscribe(
                openid=notice.openid or "", template_id=template.template_id, data=body,
                page=notice.page, miniprogram_state=self.settings.miniprogram_state)
        except WeChatOutcomeUnknown as exc:
            return Outcome(NoticeStatus.UNCERTAIN,
                           f"微信答复未知，可能已送达，不再重发 (outcome unknown: {exc})")
        except WeChatUnavailable as exc:
            return Outcome(NoticeStatus.PENDING, f"微信暂不可用 (not delivered: {exc})",
                           retry=True, credit_unused=True)
        except WeChatError as exc:
            return self._classify(exc, template)
        except Exception as exc:
            # Our own bug after the request may have gone out: do not risk a second send.
            logger.exception("notice send failed unexpectedly id=%s", notice.id)
            return Outcome(NoticeStatus.UNCERTAIN, f"发送异常 ({type(exc).__name__})")
        logger.info("notice sent id=%s msgid=%s", notice.id, msgid)
        return Outcome(NoticeStatus.SENT)

    def _classify(self, exc: WeChatError, template: Template) -> Outcome:
        code = exc.errcode
        if code == 43101:
            return Outcome(NoticeStatus.NOT_SUBSCRIBED,
                           "微信答复用户未订阅或次数已用完 (43101)", no_credit=True)
        if code in RATE_LIMIT_ERRCODES:
            return Outcome(NoticeStatus.PENDING, f"微信接口限流 ({code})", retry=True,
                           credit_unused=True, min_wait=RATE_LIMIT_MIN_WAIT)
        if code in TOKEN_ERRCODES:
            return Outcome(NoticeStatus.PENDING, f"access_token 失效，已重新获取 ({code})",
                           retry=True, credit_unused=True)
        if code == 47003:
            found = _FIELD_IN_ERRMSG.search(exc.errmsg or "")
            wechat_field = found.group(1) if found else "?"
            data_key = self._data_key(template, wechat_field)
            return Outcome(NoticeStatus.FAILED, _short(
                f"字段无效 {wechat_field} ({data_key}) (47003: {exc.errmsg})"),
                credit_unused=True)
        # 40037 template id, 41030 page, 40003 openid …: a configuration error, not a retry.
        return Outcome(NoticeStatus.FAILED, _short(f"微信拒绝 ({code}: {exc.errmsg})"),
                       credit_unused=True)

    def _record(self, token: str, notice: Claimed, outcome: Outcome) -> NoticeStatus:
        """Write WeChat's answer; a retry goes back to pending with backoff."""
        now = self.clock()
        with self.session_factory() as session:
            # A write first, with the read it needs: SQLite then waits for its turn as a
            # writer instead of failing to upgrade a read transaction.
            row = session.execute(
                update(NOTICES)
                .where(NOTICES.c.id == notice.id, NOTICES.c.claimed_by == token,
                       NOTICES.c.status.in_([NoticeStatus.SENDING, NoticeStatus.UNCERTAIN]))
                .values(claimed_at=now)
                .returning(NOTICES.c.attempts, NOTICES.c.sending_at)).first()
            if row is None:
                logger.error("notice outcome not recordable id=%s status=%s", notice.id,
                             outcome.status.value)
                return outcome.status
            attempts, sending_at = int(row[0]), row[1]
            values: dict[str, Any] = {"last_error": outcome.error, "sending_at": None}
            status = outcome.status
            if outcome.retry and attempts >= self.settings.max_attempts:
                status = NoticeStatus.FAILED
                values["last_error"] = _short(f"{outcome.error}；已尝试 {attempts} 次，放弃")
            if status is NoticeStatus.PENDING:
                values.update(claimed_by=None, claimed_at=None,
                              next_attempt_at=now + dt.timedelta(
                                  seconds=self._backoff(attempts, outcome.min_wait)))
            elif status is NoticeStatus.SENT:
                values.update(sent_at=now)
            elif status is NoticeStatus.UNCERTAIN:
                values.update(sent_at=sending_at or now, sending_at=sending_at)
            values["status"] = status
            session.execute(update(NOTICES).where(NOTICES.c.id == notice.id).values(values))
            if outcome.credit_unused:
                services.return_credit(session, notice.user_id, notice.template_key)
            if outcome.no_credit:
                services.clear_credits(session, notice.user_id, notice.template_key)
            session.commit()
        if status is not NoticeStatus.SENT:
            logger.info("notice outcome id=%s status=%s attempts=%s", notice.id, status.value,
                        attempts)
        return status

    def _backoff(self, attempts: int, min_wait: float) -> float:
        """Exponential backoff with jitter, so a recovered WeChat is not hit all at once."""
        base = self.settings.retry_base_seconds * 2 ** max(attempts - 1, 0)
        wait = min(base, self.settings.retry_max_seconds) * random.uniform(0.8, 1.0)
        return max(wait, min_wait)


def start_sender_thread(app: Flask,
                        name: str | None = None) -> tuple[NoticeSender, threading.Thread]:
    """Run a sender in a daemon thread of this process (the worker's), in an app context."""
    sender = NoticeSender(SenderSettings.from_config(app.config), name=name)

    def _run() -> None:
        with app.app_context():
            sender.run()

    thread = threading.Thread(target=_run, name="notice-sender", daemon=True)
    thread.start()
    return sender, thread
