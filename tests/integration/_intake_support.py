"""Helpers for the intake failure tests: a world of families, a private Redis, a private DB."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from PIL import Image
from sqlalchemy import Engine, func, select

from backend.accounts.models import Role, User
from backend.core.db import db, utcnow
from backend.core.jobs import GROUP, INTAKE, dead_letter_key, stream_key
from backend.core.redis import connect, redis_store
from backend.identity.models import Child, DocumentType, Guardian, Relation, Sex
from backend.notices.models import Notice
from backend.registrations import intake
from backend.registrations.models import Registration, RegistrationEvent
from backend.schools.models import RegionLevel
from backend.uploads.models import Upload, UploadKind
from backend.worker.consumer import Worker, WorkerSettings
from backend.worker.registry import load_batch_handlers, load_handlers
from tests.factories import (
    consent_for,
    make_authority,
    make_region,
    make_school,
    make_season,
)

REDIS_SERVER = "/usr/bin/redis-server"


# --- the families -----------------------------------------------------------------------


@dataclass
class Family:
    """A parent, the hukou_book they uploaded and their children."""

    user_id: int
    upload_id: str
    child_ids: list[int] = field(default_factory=list)
    token: str = ""


@dataclass
class World:
    """One county with an open registration window, one school and many families."""

    season_id: int
    school_id: int
    school_code: str
    families: list[Family]

    def children(self) -> Iterator[tuple[Family, int]]:
        """Every (family, child id)."""
        for family in self.families:
            for child_id in family.child_ids:
                yield family, child_id


def build_world(children: int, per_family: int = 10, *, with_uploads: bool = True) -> World:
    """An authority whose window is open now, a zoned school, families with hukou children.

    Rows are written through `db.session` (flushed, not committed): inside the per-test
    transaction they vanish with it; against a private database the caller commits.
    """
    now = utcnow()
    authority = make_authority()
    town = make_region(authority)
    village = make_region(authority, level=RegionLevel.VILLAGE, parent=town)
    school = make_school(authority, zone=[village])
    season = make_season(authority, year=now.year + 1, opens=now - dt.timedelta(hours=1),
                         closes=now + dt.timedelta(days=1))
    sizes = [min(per_family, children - n) for n in range(0, children, per_family)]
    users = [User(role=Role.PARENT, openid=f"o-intake-{uuid.uuid4().hex[:20]}")
             for _ in sizes]
    db.session.add_all(users)
    db.session.flush()
    guardians = [Guardian(user_id=user.id, name="张示例", document_type=DocumentType.RESIDENT_ID,
                          relation=Relation.MOTHER) for user in users]
    db.session.add_all(guardians)
    db.session.flush()
    families: list[tuple[Family, list[Child]]] = []
    for user, guardian, size in zip(users, guardians, sizes, strict=True):
        kids = [Child(guardian_id=guardian.id, name="张小示",
                      document_type=DocumentType.RESIDENT_ID,
                      birth_date=dt.date(now.year - 7, 3, 1), sex=Sex.MALE,
                      hukou_region_id=village.id, consent=consent_for(guardian.id))
                for _ in range(size)]
        db.session.add_all(kids)
        family = Family(user_id=user.id, upload_id="")
        if with_uploads:
            family.upload_id = uuid.uuid4().hex
            db.session.add(Upload(id=family.upload_id, owner_user_id=user.id,
                                  kind=UploadKind.HUKOU_BOOK, content_type="image/png",
                                  size=1, sha256="0" * 64, storage_name=None))
        families.append((family, kids))
    db.session.flush()
    for family, kids in families:
        family.child_ids = [kid.id for kid in kids]
    return World(season_id=season.id, school_id=school.id, school_code=school.code,
                 families=[family for family, _kids in families])


def png_bytes() -> bytes:
    """A small, real PNG, as a phone would upload a photo of the 户口簿."""
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


# --- queueing without HTTP ---------------------------------------------------------------


def payload(world: World, family: Family, child_id: int, ticket: str | None = None) -> dict:
    """What the intake puts on the stream for one submission."""
    return {
        "ticket": ticket or "T" + uuid.uuid4().hex[:24], "user_id": family.user_id,
        "child_id": child_id, "season_id": world.season_id, "school_id": world.school_id,
        "basis": "hukou", "out_of_zone": False,
        "upload_ids": [family.upload_id] if family.upload_id else [],
        "submitted_at": utcnow().isoformat(),
    }


def queue_all(world: World) -> list[str]:
    """Queue one submission per child through the intake's atomic Redis step; the tickets."""
    tickets = []
    for family, child_id in world.children():
        body = payload(world, family, child_id)
        outcome, ticket = intake.queue_submission(
            intake.intake_key("idem", family.user_id, f"key-{child_id}"),
            intake.child_holder_key(world.season_id, child_id), body["ticket"],
            json.dumps(body), family.user_id)
        assert outcome == "queued", (outcome, ticket)
        tickets.append(ticket)
    return tickets


def xadd(fields: dict[str, Any]) -> str:
    """Put raw fields on the intake stream, as a buggy or hostile producer might."""
    message_id = redis_store.client.xadd(stream_key(INTAKE), fields)
    return message_id.decode() if isinstance(message_id, bytes) else str(message_id)


# --- looking at the outcome ---------------------------------------------------------------


def backlog() -> int:
    """Messages still on the intake stream (acknowledged ones are deleted)."""
    return int(redis_store.client.xlen(stream_key(INTAKE)))


def pending() -> int:
    """Messages read by some consumer and not acknowledged."""
    try:
        return int(redis_store.client.xpending(stream_key(INTAKE), GROUP)["pending"])
    except redis.ResponseError:  # no group yet
        return 0


def dead_letters() -> list[tuple[str, dict[bytes, bytes]]]:
    """The intake's dead-letter stream."""
    return [(mid.decode(), fields)
            for mid, fields in redis_store.client.xrange(dead_letter_key(INTAKE))]


def ticket_states(tickets: list[str]) -> dict[str, dict[bytes, bytes]]:
    """Each ticket's Redis hash."""
    with redis_store.client.pipeline(transaction=False) as pipe:
        for ticket in tickets:
            pipe.hgetall(intake.ticket_key(ticket))
        return dict(zip(tickets, pipe.execute(), strict=True))


@dataclass(frozen=True)
class Written:
    """What the worker wrote for one season."""

    registrations: int
    distinct_tickets: int
    distinct_children: int
    events: int
    notices: int
    tickets: set[str]


def written(season_id: int) -> Written:
    """Count the season's registrations, their history and their notices."""
    session = db.session
    session.expire_all()
    regs = select(Registration.id).where(Registration.season_id == season_id)
    tickets = set(session.scalars(
        select(Registration.ticket).where(Registration.season_id == season_id)))
    return Written(
        registrations=session.scalar(select(func.count()).select_from(regs.subquery())) or 0,
        distinct_tickets=len(tickets),
        distinct_children=session.scalar(select(func.count(func.distinct(Registration.child_id)))
                                         .where(Registration.season_id == season_id)) or 0,
        events=session.scalar(select(func.count(RegistrationEvent.id)).where(
            RegistrationEvent.registration_id.in_(regs))) or 0,
        notices=session.scalar(select(func.count(Notice.id)).where(
            Notice.template_key == "registration_received",
            Notice.user_id.in_(select(Registration.submitted_by_user_id)
                               .where(Registration.season_id == season_id)))) or 0,
        tickets=tickets,
    )


def committed_registrations(engine: Engine, season_id: int) -> int:
    """Registrations another process has committed (a fresh connection, no old snapshot)."""
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count(Registration.id))
                               .where(Registration.season_id == season_id)) or 0)


def queued_tickets() -> set[str]:
    """The tickets of the submissions still on the intake stream."""
    return {json.loads(fields[b"payload"])["ticket"]
            for _mid, fields in redis_store.client.xrange(stream_key(INTAKE))}


# --- workers ------------------------------------------------------------------------------


def worker(name: str = "intake-test-worker", **settings: Any) -> Worker:
    """An in-process worker that never sleeps between batches."""
    made = Worker(load_handlers(), name=name, batch_handlers=load_batch_handlers(),
                  settings=WorkerSettings(**{"block_ms": 10, "linger_ms": 0, **settings}))
    made.ensure_group()
    return made


def drain(*workers: Worker, timeout: float = 60.0) -> None:
    """Run the workers in turn until the intake stream is empty (bounded in time)."""
    deadline = time.monotonic() + timeout
    while backlog():
        assert time.monotonic() < deadline, f"still {backlog()} messages after {timeout} s"
        for each in workers:
            each.run_once()


def wait_for(condition: Callable[[], bool], timeout: float, what: str,
             every: float = 0.005) -> None:
    """Poll until `condition()` holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(every)


def worker_process(app_config: dict[str, Any], database_url: str, name: str,
                   batch_size: int, log: Path) -> subprocess.Popen[bytes]:
    """`python -m backend.worker` against the given database and the app's Redis."""
    env = {
        **os.environ, "APP_ENV": "test", "DATABASE_URL": database_url,
        "REDIS_URL": app_config["REDIS_URL"], "REDIS_KEY_PREFIX": app_config["REDIS_KEY_PREFIX"],
        "PYTHONUNBUFFERED": "1",
    }
    with log.open("wb") as out:  # a file, not a pipe: a chatty worker must never block
        return subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "backend.worker", "--name", name,
             "--batch-size", str(batch_size)],
            env=env, stdout=out, stderr=subprocess.STDOUT)


# --- a private Redis server ---------------------------------------------------------------


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A redis-server of our own on a loopback port, which a test may SIGKILL and restart."""

    def __init__(self, directory: Path, *, appendonly: bool = True,
                 appendfsync: str = "always") -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                     "--dir", str(directory), "--save", "",
                     "--appendonly", "yes" if appendonly else "no",
                     "--appendfsync", appendfsync, "--daemonize", "no",
                     "--logfile", str(directory / "redis.log")]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        """Start (or restart) the server and wait until it answers, data loaded."""
        self.process = subprocess.Popen(self.args, stdout=subprocess.DEVNULL,  # noqa: S603
                                        stderr=subprocess.DEVNULL)
        probe = connect(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                probe.ping()
                break
            except (redis.ConnectionError, redis.BusyLoadingError):
                assert self.process.poll() is None, "redis-server exited at start"
                assert time.monotonic() < deadline, "redis-server did not come up"
                time.sleep(0.02)
        probe.close()
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final save, exactly like a power cut of the process."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def client(self) -> redis.Redis:
        """A fresh client (the old pool's connections died with the server)."""
        return connect(self.url)


@contextmanager
def app_redis(client: redis.Redis) -> Iterator[None]:
    """Point the application's Redis at another server for a while."""
    saved = redis_store._client
    redis_store._client = client
    try:
        yield
    finally:
        redis_store._client = saved
        client.close()


