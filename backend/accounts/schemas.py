"""Request and response models of the accounts API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.identity.schemas import ChildOut, ConsentOut, GuardianOut


class WeChatLoginIn(BaseModel):
    """The code `wx.login()` returned on the phone."""

    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=128, description="wx.login() code (single use)")


class StaffLoginIn(BaseModel):
    """Username and password of a school staff member or bureau administrator."""

    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    web_session: bool = Field(
        default=True,
        description="also start the staff web console's session (an HttpOnly, SameSite=Lax "
                    "cookie with a CSRF token); false for API clients that want the token only")


class UserOut(BaseModel):
    """The signed-in user as the client sees it."""

    id: int
    role: Literal["parent", "school_staff", "bureau_admin"]
    identity_bound: bool = False
    username: str | None = None
    display_name: str | None = None
    authority: str | None = Field(default=None, description="education authority code")
    school: str | None = Field(default=None, description="school code (school staff only)")


class LoginOut(BaseModel):
    """A fresh session token (send as `Authorization: Bearer <token>`)."""

    token: str
    expires_in: int = Field(description="seconds until the token expires")
    user: UserOut


class MeOut(UserOut):
    """The caller with masked identity and children (parents, once identity is bound)."""

    identity: GuardianOut | None = None
    children: list[ChildOut] = Field(default_factory=list)
    consents: list[ConsentOut] = Field(
        default_factory=list, description="the guardian's consent recorded for each child")


class StaffAccountIn(BaseModel):
    """A new staff account in the admin's own authority."""

    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    password: str = Field(min_length=10, max_length=256)
    role: Literal["school_staff", "bureau_admin"]
    school_code: str | None = Field(default=None, max_length=32)
    display_name: str | None = Field(default=None, max_length=64)


StaffRole = Literal["school_staff", "bureau_admin"]
STAFF_PAGE_SIZE_MAX = 200


class StaffAccountOut(BaseModel):
    """A staff account (never its password hash)."""

    id: int
    username: str
    role: StaffRole
    display_name: str | None
    authority: str
    school: str | None
    school_name: str | None = None
    is_active: bool
    last_login_at: str | None = Field(default=None, description="Beijing time, +08:00")


class StaffAccountQuery(BaseModel):
    """Filters of the account list (all optional), and which page."""

    model_config = ConfigDict(extra="forbid")
    role: StaffRole | None = None
    school: str | None = Field(default=None, max_length=32, description="school code")
    active: bool | None = None
    q: str | None = Field(default=None, max_length=64, description="part of the username "
                                                                   "or display name")
    page: int = Field(default=1, ge=1, le=100_000)
    page_size: int = Field(default=STAFF_PAGE_SIZE_MAX, ge=1, le=STAFF_PAGE_SIZE_MAX)


class StaffAccountList(BaseModel):
    """A page of one authority's staff accounts, by username."""

    items: list[StaffAccountOut]
    total: int = 0
    page: int = 1
    page_size: int = STAFF_PAGE_SIZE_MAX


class StaffAccountPatch(BaseModel):
    """What a bureau admin may change on an account of their authority (fields left out
    stay as they are). A school account needs a school of the authority; a bureau account
    has none."""

    model_config = ConfigDict(extra="forbid")
    display_name: str | None = Field(default=None, max_length=64)
    role: StaffRole | None = None
    school_code: str | None = Field(default=None, max_length=32)
    is_active: bool | None = None


class PasswordResetIn(BaseModel):
    """A new password chosen by the admin, or none: then one is generated and shown once."""

    model_config = ConfigDict(extra="forbid")
    password: str | None = Field(default=None, min_length=1, max_length=256)


class PasswordResetOut(BaseModel):
    """The account whose password was reset; a generated password is in this answer only."""

    account: StaffAccountOut
    generated: bool
    password: str | None = Field(
        default=None, description="the generated password (only when none was given); it is "
                                  "stored hashed and cannot be shown again")


# --- signing in on a PC by scanning a mini-program code (docs/PC_LOGIN.md) --------------------


class PcLoginIn(BaseModel):
    """Start a sign-in on this PC (an empty JSON object: the API only takes JSON)."""

    model_config = ConfigDict(extra="forbid")


class PcLoginOut(BaseModel):
    """A sign-in waiting for the phone; its code is at `qr_url` (for this browser only)."""

    id: str
    expires_in: int = Field(description="seconds the code may still be scanned and confirmed")
    qr_url: str


PcLoginState = Literal["pending", "scanned", "confirmed", "refused", "expired"]


class PcLoginStateOut(BaseModel):
    """Where the sign-in stands; `confirmed` comes once, with the parent's web session cookie."""

    state: PcLoginState
    expires_in: int = Field(description="seconds left to scan and confirm (0 once ended)")


class PcLoginScanIn(BaseModel):
    """The scene of the scanned code (decodeURIComponent(options.scene))."""

    model_config = ConfigDict(extra="forbid")
    scene: str = Field(min_length=1, max_length=64)


class PcLoginScanOut(BaseModel):
    """Where the sign-in comes from, for the parent to check before confirming."""

    requested_at: str = Field(description="when the PC asked, Beijing time (+08:00)")
    browser: str = Field(description="the PC's browser, from its User-Agent, e.g. Chrome 126")
    os: str = Field(description="the PC's system, e.g. Windows 10/11")
    address: str = Field(description="the network the PC is on, e.g. 36.112.*.*")
    expires_in: int
    identity_bound: bool = Field(
        description="false: the phone asks for the WeChat phone and sends its code with the "
                    "confirmation, for the real-name binding on the PC")


class PcLoginDecisionIn(BaseModel):
    """The parent's answer on the phone."""

    model_config = ConfigDict(extra="forbid")
    scene: str = Field(min_length=1, max_length=64)
    decision: Literal["confirm", "refuse"]
    phone_code: str | None = Field(
        default=None, max_length=128,
        description="code from <button open-type=getPhoneNumber>, with a confirmation by an "
                    "account without a binding: the phone is kept for its PC session")


class PcLoginDecisionOut(BaseModel):
    """The sign-in after the answer."""

    state: Literal["confirmed", "refused"]
