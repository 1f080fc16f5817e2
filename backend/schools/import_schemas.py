"""Rows of the catalogue import files (regions, schools, zones) and the import responses."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from backend.schools.models import RegionLevel, SchoolType

ImportKind = Literal["regions", "schools", "zones"]

CODE_PATTERN = r"^[A-Za-z0-9_-]{2,32}$"
_CODE = re.compile(CODE_PATTERN)
_PHONE = re.compile(r"^[0-9+()（）\- 转/、]{5,40}$")

# What county staff actually type in the 级别 / 办学类型 columns, mapped to stored values.
LEVEL_WORDS: dict[str, RegionLevel] = {
    "镇": RegionLevel.TOWN, "乡": RegionLevel.TOWN, "乡镇": RegionLevel.TOWN,
    "town": RegionLevel.TOWN,
    "村": RegionLevel.VILLAGE, "village": RegionLevel.VILLAGE,
    "社区": RegionLevel.COMMUNITY, "community": RegionLevel.COMMUNITY,
}
SCHOOL_TYPE_WORDS: dict[str, SchoolType] = {
    "公办": SchoolType.PUBLIC, "public": SchoolType.PUBLIC,
    "民办": SchoolType.PRIVATE, "private": SchoolType.PRIVATE,
}


def _code(value: Any) -> Any:
    if isinstance(value, str) and not _CODE.match(value):
        raise PydanticCustomError("code_format", "只能包含字母、数字、下划线和横线，长度 2-32 位")
    return value


def _level(value: Any) -> Any:
    if isinstance(value, str):
        level = LEVEL_WORDS.get(value.lower())
        if level is None:
            raise PydanticCustomError("level_choice", "级别只能填写：镇、乡、村、社区")
        return level
    return value


def _school_type(value: Any) -> Any:
    if isinstance(value, str):
        school_type = SCHOOL_TYPE_WORDS.get(value.lower())
        if school_type is None:
            raise PydanticCustomError("type_choice", "办学类型只能填写：公办、民办")
        return school_type
    return value


def _phone(value: Any) -> Any:
    if isinstance(value, str) and not _PHONE.match(value):
        raise PydanticCustomError("phone_format", "电话号码格式不正确")
    return value


Code = Annotated[str, BeforeValidator(_code)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Address = Annotated[str, StringConstraints(max_length=200)]


class RegionRow(BaseModel):
    """One row of a regions file: a town, or a village/community under a town."""

    model_config = ConfigDict(extra="forbid")
    code: Code
    name: Name
    level: Annotated[RegionLevel, BeforeValidator(_level)]
    parent_code: Code | None = None


class SchoolRow(BaseModel):
    """One row of a schools file."""

    model_config = ConfigDict(extra="forbid")
    code: Code
    name: Name
    type: Annotated[SchoolType, BeforeValidator(_school_type)]
    town_code: Code | None = None
    address: Address = ""
    phone: Annotated[str | None, BeforeValidator(_phone)] = None


class ZoneRow(BaseModel):
    """One row of a zones file: a village/community in a school's service zone (划片)."""

    model_config = ConfigDict(extra="forbid")
    school_code: Code
    region_code: Code


class ImportForm(BaseModel):
    """The form fields of an import upload besides the file."""

    model_config = ConfigDict(extra="forbid")
    dry_run: bool = Field(default=True, description="only check the file, write nothing")


class ImportRowError(BaseModel):
    """A problem with one cell (or one row when column is empty)."""

    row: int = Field(description="row number in the file; the header is row 1")
    column: str
    message: str


class ImportResult(BaseModel):
    """What an import did (or, in a dry run, would do)."""

    kind: ImportKind
    dry_run: bool
    rows: int
    created: int
    updated: int
    unchanged: int
    errors: list[ImportRowError]
