"""One interface for every government data source the platform may ask.

A county switches sources on per authority (`GOVDATA_SOURCES`, docs/VERIFICATION.md). Each
source answers one kind of fact about one subject: confirmed, not found, mismatch or
unavailable, with the source's name, its reference number and the time. Callers never see
how a source is reached (signing, retries, error codes): that stays in the adapters.
"""

from __future__ import annotations

import datetime as dt
import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass


class Fact(enum.Enum):
    """What a source can confirm; each stands in for one kind of uploaded document."""

    HOUSEHOLD = "household"  # 户籍 (公安): stands in for 户口簿
    PROPERTY = "property"  # 不动产登记: stands in for 房产证
    RESIDENCE_PERMIT = "residence_permit"  # 居住证 (公安)
    BIRTH = "birth"  # 出生医学证明 (卫健)


class Outcome(enum.Enum):
    """A source's answer."""

    CONFIRMED = "confirmed"  # the record exists and matches what the family declared
    NOT_FOUND = "not_found"  # the source holds no such record
    MISMATCH = "mismatch"  # a record exists but differs (reason says how, never the value)
    UNAVAILABLE = "unavailable"  # down, timed out, rate-limited or refused us: retry later


@dataclass(frozen=True)
class Subject:
    """Who is asked about, as the family declared it (decrypted only for the query)."""

    child_id_number: str | None
    child_name: str
    child_birth_date: dt.date | None
    guardian_id_number: str | None
    guardian_name: str | None
    # 居住证 number the family entered (residence permit checks)
    residence_permit_number: str | None = None
    # the address the family declared for this fact, if any (a mismatch is reported)
    declared_region_code: str | None = None


@dataclass(frozen=True)
class Result:
    """One source's answer about one fact."""

    fact: Fact
    outcome: Outcome
    source: str  # the source's display name, e.g. "山西省公安厅人口信息"
    checked_at: dt.datetime  # aware, UTC
    reference: str | None = None  # the source's reference number for this answer
    reason: str | None = None  # Chinese, for not_found / mismatch / unavailable
    # household and property records: where the record says the family lives
    address: str | None = None
    region_code: str | None = None  # 12-digit 统计用区划代码 when the source gives one
    retry_after: int | None = None  # seconds, when the source asked us to wait


class Source(ABC):
    """One configured source for one fact."""

    fact: Fact
    name: str

    @abstractmethod
    def verify(self, subject: Subject) -> Result:
        """Ask the source; never raises for the source's own failures (UNAVAILABLE)."""
