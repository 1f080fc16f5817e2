"""Identity document numbers: validated with python-stdnum (GB 11643) or by document format."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from stdnum import numdb
from stdnum.cn import ric
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
    ValidationError,
)

from backend.core.errors import ApiError
from backend.identity.models import DocumentType, Sex

# 港澳台居民居住证 numbers are GB 11643 numbers with these region prefixes.
HMT_PREFIXES = ("810000", "820000", "830000")

# Formats of the other documents the policy names (华侨, 港澳台, 国际学生).
_PATTERNS = {
    DocumentType.HK_MACAU_PERMIT: re.compile(r"^[HM]\d{8}(\d{2})?$"),
    DocumentType.TAIWAN_PERMIT: re.compile(r"^\d{8}$"),
    DocumentType.FOREIGN_PASSPORT: re.compile(r"^[A-Z0-9]{5,20}$"),
    DocumentType.FOREIGN_PERMANENT_RESIDENCE: re.compile(r"^([A-Z]{3}\d{12}|9\d{17})$"),
}

DOCUMENT_NAMES = {
    DocumentType.RESIDENT_ID: "居民身份证",
    DocumentType.HMT_RESIDENCE_PERMIT: "港澳台居民居住证",
    DocumentType.HK_MACAU_PERMIT: "港澳居民来往内地通行证",
    DocumentType.TAIWAN_PERMIT: "台湾居民来往大陆通行证",
    DocumentType.FOREIGN_PASSPORT: "外国护照",
    DocumentType.FOREIGN_PERMANENT_RESIDENCE: "外国人永久居留身份证",
}


@dataclass(frozen=True)
class ParsedDocument:
    """A validated, normalised document number, with what it tells about its holder."""

    document_type: DocumentType
    number: str
    birth_date: dt.date | None
    sex: Sex | None


def _invalid(code: str, message: str) -> ApiError:
    return ApiError(422, code, message, details={"field": "id_number"})


def _known_region(number: str) -> bool:
    try:
        ric.get_birth_date(number)
    except ValidationError:
        return False
    parts = numdb.get("cn/loc").info(number[:6])
    return any("county" in props for _part, props in parts)


def _parse_gb11643(number: str, document_type: DocumentType, today: dt.date) -> ParsedDocument:
    try:
        # validate() checks length, digits, the check digit, the date and the region code.
        try:
            number = ric.validate(number)
        except KeyError as exc:
            # stdnum's region table has codes without a county entry (e.g. 150001), and its
            # lookup then fails with KeyError: a region code we cannot place, not a crash.
            raise InvalidComponent() from exc
    except InvalidComponent as exc:
        # stdnum also rejects a region code that did not exist in the birth year, but a
        # number keeps the code of where it was issued (Lüliang's 1411xx codes date from
        # 2003; parents born earlier hold them). Accept any region code ever assigned.
        if not _known_region(number):
            raise _invalid("ID_NUMBER_INVALID", "身份证号码中的出生日期或地区代码无效") from exc
    except InvalidLength as exc:
        raise _invalid("ID_NUMBER_LENGTH", "身份证号码应为 18 位") from exc
    except InvalidFormat as exc:
        raise _invalid(
            "ID_NUMBER_FORMAT", "身份证号码前 17 位应为数字，最后一位为数字或 X"
        ) from exc
    except InvalidChecksum as exc:
        raise _invalid("ID_NUMBER_CHECKSUM", "身份证号码校验位不正确，请核对后重新输入") from exc
    except ValidationError as exc:
        raise _invalid("ID_NUMBER_INVALID", "身份证号码无效") from exc
    birth = ric.get_birth_date(number)
    if birth > today or birth.year < 1900:
        raise _invalid("ID_NUMBER_INVALID", "身份证号码中的出生日期无效")
    is_hmt = number.startswith(HMT_PREFIXES)
    if document_type is DocumentType.RESIDENT_ID and is_hmt:
        raise _invalid(
            "ID_NUMBER_TYPE_MISMATCH", "该号码是港澳台居民居住证号码，请选择对应证件类型"
        )
    if document_type is DocumentType.HMT_RESIDENCE_PERMIT and not is_hmt:
        raise _invalid(
            "ID_NUMBER_TYPE_MISMATCH", "港澳台居民居住证号码应以 810000、820000 或 830000 开头"
        )
    # The 17th digit is odd for men and even for women (GB 11643).
    sex = Sex.MALE if int(number[16]) % 2 == 1 else Sex.FEMALE
    return ParsedDocument(document_type, number, birth, sex)


def parse_document(document_type: DocumentType, raw: str, today: dt.date) -> ParsedDocument:
    """Validate and normalise a document number (upper case, no spaces) or raise a 422."""
    number = re.sub(r"[\s\-]", "", raw or "").upper()
    if not number:
        raise _invalid("ID_NUMBER_REQUIRED", "请填写证件号码")
    if document_type in (DocumentType.RESIDENT_ID, DocumentType.HMT_RESIDENCE_PERMIT):
        return _parse_gb11643(number, document_type, today)
    if not _PATTERNS[document_type].match(number):
        raise _invalid("ID_NUMBER_FORMAT", f"{DOCUMENT_NAMES[document_type]}号码格式不正确")
    return ParsedDocument(document_type, number, None, None)
