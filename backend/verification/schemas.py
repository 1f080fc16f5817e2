"""Request and response models of the data-check API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

FactName = Literal["household", "property", "residence_permit", "birth"]
CheckStatusName = Literal["pending", "confirmed", "not_found", "mismatch", "unavailable"]
ChannelName = Literal["mini_program", "pc", "counter"]


class DataCheckAskIn(BaseModel):
    """The family ticked 我已阅读并同意 under the data-check consent of this version."""

    model_config = ConfigDict(extra="forbid")
    # Optional in the schema so that a missing consent gets its own stable code.
    consent_version: str | None = Field(
        default=None, max_length=32,
        description="the version of GET /privacy/data-check-consent-text shown; without it "
                    "422 DATA_CHECK_CONSENT_REQUIRED, an older one 409 "
                    "DATA_CHECK_CONSENT_OUTDATED")
    agreed: bool | None = Field(default=None, description="must be true")


class DataCheckConsentOut(BaseModel):
    """The family's latest consent to the current text."""

    version: str
    channel: ChannelName
    agreed_at: str = Field(description="Beijing time")


class DataCheckOut(BaseModel):
    """One fact's check, as the family sees it."""

    fact: FactName
    fact_name: str
    document_kind: str = Field(description="the upload kind a confirmed fact stands in for")
    document_name: str
    status: CheckStatusName
    verified: bool = Field(description="confirmed: the document need not be uploaded")
    message: str = Field(description="what to tell the family, Chinese")
    source: str | None
    reference: str | None
    checked_at: str | None
    next_attempt_at: str | None = Field(description="unavailable: when it is asked again")


class ProposedSchoolOut(BaseModel):
    """A school zoned for the address a record gives."""

    code: str
    name: str
    type: Literal["public", "private"]


class ZoningProposalOut(BaseModel):
    """划片 from a confirmed household or property record: a proposal, the family still
    chooses the school."""

    fact: FactName
    region_code: str
    region_name: str
    # Never the record's address: the family knows where it lives, and an account that
    # typed someone else's details must not learn where that person is registered.
    schools: list[ProposedSchoolOut]


class DataChecksOut(BaseModel):
    """A child's data checks: consent, per fact status and message, zoning proposals."""

    child_id: int
    consent: DataCheckConsentOut | None
    consent_version: str = Field(description="the current consent text's version")
    checks: list[DataCheckOut]
    zoning: list[ZoningProposalOut]


class DataCheckConsentTextOut(BaseModel):
    """The separate consent a family gives before any government data is asked."""

    version: str
    title: str
    text: str
