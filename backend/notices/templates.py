"""Subscribe-message templates: the fixed keys, their per-deployment WeChat ids and fields.

A deployment picks a template in the mini-program console for each key and configures its
id and which WeChat field (``thing1``, ``time3`` …) shows which of the key's data values
(``NOTICE_TEMPLATES``, JSON). This module imports nothing from Flask or the database, so
the configuration can be checked when the settings are loaded.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

# key -> (inbox title, [(data key, inbox label)]); the order is the order of the body lines.
TEMPLATE_KEYS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "registration_received": ("报名已受理", (
        ("school", "学校"), ("ticket", "回执号"), ("submitted_at", "提交时间"),
        ("status", "状态"))),
    "correction_requested": ("报名材料需要修改", (
        ("school", "学校"), ("child", "儿童"), ("reason", "原因"), ("deadline", "修改截止"))),
    "review_result": ("报名审核结果", (
        ("school", "学校"), ("child", "儿童"), ("result", "结果"), ("note", "说明"))),
    "admission_result": ("录取结果通知", (
        ("school", "学校"), ("child", "儿童"), ("result", "结果"), ("note", "说明"))),
    "appointment": ("现场确认预约", (
        ("school", "学校"), ("time", "时间"), ("place", "地点"), ("note", "说明"))),
    "announcement": ("学校发布新公告", (
        ("school", "学校"), ("title", "标题"), ("published_at", "发布时间"))),
}

# Data keys whose value may be left out: WeChat refuses an empty field, so they show "无".
OPTIONAL_KEYS = frozenset({"note"})
EMPTY_VALUE = "无"

# The simulator's template ids: fine for development and demos, refused in production.
DEMO_TEMPLATE_IDS = frozenset({
    "TPL_REG_RECEIVED", "TPL_CORRECTION", "TPL_REVIEW_RESULT", "TPL_ADMISSION_RESULT",
    "TPL_APPOINTMENT", "TPL_ANNOUNCEMENT",
})

DEFAULT_TEMPLATES: dict[str, dict[str, Any]] = {
    "registration_received": {"template_id": "TPL_REG_RECEIVED", "fields": {
        "thing1": "school", "character_string2": "ticket", "time3": "submitted_at",
        "phrase4": "status"}},
    "correction_requested": {"template_id": "TPL_CORRECTION", "fields": {
        "thing1": "school", "thing2": "child", "thing3": "reason", "date4": "deadline"}},
    "review_result": {"template_id": "TPL_REVIEW_RESULT", "fields": {
        "thing1": "school", "thing2": "child", "phrase3": "result", "thing4": "note"}},
    "admission_result": {"template_id": "TPL_ADMISSION_RESULT", "fields": {
        "thing1": "school", "thing2": "child", "phrase3": "result", "thing4": "note"}},
    "appointment": {"template_id": "TPL_APPOINTMENT", "fields": {
        "thing1": "school", "time2": "time", "thing3": "place", "thing4": "note"}},
    "announcement": {"template_id": "TPL_ANNOUNCEMENT", "fields": {
        "thing1": "school", "thing2": "title", "time3": "published_at"}},
}

_FIELD = re.compile(
    r"(thing|number|letter|symbol|character_string|time|date|amount|phone_number"
    r"|car_number|name|phrase|enum)\d{1,3}"
)
_TEMPLATE_ID = re.compile(r"[A-Za-z0-9_\-]{1,128}")


@dataclass(frozen=True)
class Template:
    """One key's WeChat template: its id and WeChat field -> data key."""

    key: str
    template_id: str
    title: str
    fields: tuple[tuple[str, str], ...]


def parse_templates(raw: str | Mapping[str, Any] | None) -> dict[str, Template]:
    """Defaults overridden per key by `raw` (JSON text or a mapping); ValueError if invalid."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        given: Mapping[str, Any] = {}
    elif isinstance(raw, str):
        try:
            given = json.loads(raw)
        except ValueError as exc:
            raise ValueError(f"NOTICE_TEMPLATES is not valid JSON: {exc}") from None
    else:
        given = raw
    if not isinstance(given, Mapping):
        raise ValueError("NOTICE_TEMPLATES must be a JSON object of template key -> spec")
    unknown = sorted(set(given) - set(TEMPLATE_KEYS))
    if unknown:
        raise ValueError(f"NOTICE_TEMPLATES has unknown template keys: {', '.join(unknown)}")
    templates = {}
    for key, (title, lines) in TEMPLATE_KEYS.items():
        spec = given.get(key, DEFAULT_TEMPLATES[key])
        if not isinstance(spec, Mapping):
            raise ValueError(f"NOTICE_TEMPLATES[{key}] must be an object")
        template_id = spec.get("template_id")
        if not isinstance(template_id, str) or not _TEMPLATE_ID.fullmatch(template_id):
            raise ValueError(f"NOTICE_TEMPLATES[{key}].template_id is missing or malformed")
        fields = spec.get("fields")
        if not isinstance(fields, Mapping) or not fields:
            raise ValueError(f"NOTICE_TEMPLATES[{key}].fields must map WeChat fields "
                             "to data keys")
        data_keys = {data_key for data_key, _label in lines}
        for field, data_key in fields.items():
            if not isinstance(field, str) or not _FIELD.fullmatch(field):
                raise ValueError(f"NOTICE_TEMPLATES[{key}]: {field!r} is not a WeChat field "
                                 "name such as thing1 or time2")
            if data_key not in data_keys:
                raise ValueError(f"NOTICE_TEMPLATES[{key}].{field}: {data_key!r} is not one of "
                                 f"{', '.join(sorted(data_keys))}")
        extra = set(spec) - {"template_id", "fields"}
        if extra:
            raise ValueError(f"NOTICE_TEMPLATES[{key}] has unknown entries: "
                             f"{', '.join(sorted(extra))}")
        templates[key] = Template(key=key, template_id=template_id, title=title,
                                  fields=tuple((str(f), str(k)) for f, k in fields.items()))
    return templates


_cache: dict[str, dict[str, Template]] = {}


def templates_from_config(config: Mapping[str, Any]) -> dict[str, Template]:
    """The templates of an app config (parsed once per distinct setting)."""
    raw = config.get("NOTICE_TEMPLATES")
    cache_key = raw if isinstance(raw, str) or raw is None else json.dumps(raw, sort_keys=True)
    cache_key = cache_key or ""
    if cache_key not in _cache:
        _cache[cache_key] = parse_templates(raw)
    return _cache[cache_key]


# --- fitting values to WeChat's field rules --------------------------------------------------


class FieldError(ValueError):
    """A value that no shortening can make acceptable for its WeChat field."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


_CHINESE = "\u3400-\u4dbf\u4e00-\u9fff"
_NOT_CHINESE = re.compile(rf"[^{_CHINESE}]")
_NAME_CHINESE = re.compile(rf"[{_CHINESE}·]{{1,10}}")
_NAME_LATIN = re.compile(r"[A-Za-z .·'\-]{1,20}")
_NUMBER = re.compile(r"\d{1,32}(?:\.\d+)?")
_LETTERS = re.compile(r"[A-Za-z]+")
_ASCII = re.compile(r"[\x20-\x7e]+")
_PHONE = re.compile(r"[0-9+\-() ]{1,17}")
_AMOUNT = re.compile(r"[¥￥$]?\d{1,10}(?:\.\d{1,2})?元?")
_CAR = re.compile(rf"[{_CHINESE}][A-Za-z0-9{_CHINESE}]{{5,7}}")
# Already in WeChat's own form (2024年08月05日 08:00, 15:01): sent as it is.
_WECHAT_POINT = re.compile(
    r"\d{4}年\d{1,2}月\d{1,2}日(?: \d{1,2}:\d{2}(?::\d{2})?)?|\d{1,2}:\d{2}(?::\d{2})?"
)
ELLIPSIS = "…"


def _text(value: Any) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return " ".join(str(value).split())  # WeChat shows one line: no newlines or tabs


def _shorten(text: str, limit: int, ellipsis: str = ELLIPSIS) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - len(ellipsis)] + ellipsis


def _point(value: str, zone: ZoneInfo, with_date_only: bool) -> str:
    """One time point in WeChat's form, e.g. 2024年08月05日 08:00, in the display zone."""
    value = value.strip()
    if _WECHAT_POINT.fullmatch(value):
        return value  # already written the way WeChat wants it
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise FieldError("", "not a date or time") from None
    if len(value) == 10:  # a date alone, e.g. 2024-08-10
        if not with_date_only:
            raise FieldError("", "a time field needs a time of day")
        return parsed.strftime("%Y年%m月%d日")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)  # stored times are UTC
    return parsed.astimezone(zone).strftime("%Y年%m月%d日 %H:%M")


def fit_value(field: str, value: Any, zone: ZoneInfo) -> str:
    """The value made acceptable for a WeChat field (shortened where WeChat allows less).

    Raises FieldError when no shortening helps (a word that is not Chinese for a
    ``phrase``, letters for a ``number``, …).
    """
    match = _FIELD.fullmatch(field)
    if match is None:
        raise FieldError(field, "unknown field type")
    kind = match.group(1)
    text = value if isinstance(value, str) else _text(value)
    text = " ".join(text.split())
    if not text:
        raise FieldError(field, "empty")
    try:
        return _fit(kind, text, value, zone)
    except FieldError as exc:
        raise FieldError(field, exc.reason) from None


def _fit(kind: str, text: str, value: Any, zone: ZoneInfo) -> str:
    if kind == "thing":
        return _shorten(text, 20)
    if kind == "phrase":
        # ≤5 Chinese characters and nothing else: keep the Chinese, cut to five.
        chinese = _NOT_CHINESE.sub("", text)
        if not chinese:
            raise FieldError("", "a phrase must be Chinese characters")
        return chinese[:5]
    if kind == "name":
        if _NAME_CHINESE.fullmatch(text) or _NAME_LATIN.fullmatch(text):
            return text
        chinese = re.sub(rf"[^{_CHINESE}·]", "", text)
        if chinese and "*" not in text:
            return chinese[:10]
        raise FieldError("", "a name must be up to 10 Chinese characters")
    if kind == "number":
        if isinstance(value, bool) or not _NUMBER.fullmatch(text):
            raise FieldError("", "not a number of up to 32 digits")
        return text
    if kind == "letter":
        if not _LETTERS.fullmatch(text):
            raise FieldError("", "only letters are allowed")
        return text[:32]
    if kind == "character_string":
        if not _ASCII.fullmatch(text):
            raise FieldError("", "only letters, digits and symbols are allowed")
        return _shorten(text, 32, "...")
    if kind == "symbol":
        return _shorten(text, 5)
    if kind in ("time", "date"):
        points = text.split("~")
        if len(points) > 2:
            raise FieldError("", "at most a range of two times")
        return "~".join(_point(p, zone, with_date_only=kind == "date") for p in points)
    if kind == "amount":
        if not _AMOUNT.fullmatch(text):
            raise FieldError("", "not an amount")
        return text
    if kind == "phone_number":
        if not _PHONE.fullmatch(text):
            raise FieldError("", "not a phone number")
        return text
    if kind == "car_number":
        if not _CAR.fullmatch(text):
            raise FieldError("", "not a licence plate")
        return text
    return text  # enum: WeChat checks it against the values approved for the template


def wechat_data(template: Template, data: Mapping[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    """The ``data`` body of subscribeMessage.send for a notice's values."""
    body: dict[str, Any] = {}
    for field, data_key in template.fields:
        value = data.get(data_key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if data_key not in OPTIONAL_KEYS:
                raise FieldError(field, f"no value for {data_key}")
            value = EMPTY_VALUE
        body[field] = {"value": fit_value(field, value, zone)}
    return body


# --- the in-app inbox -----------------------------------------------------------------------

_ISO = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
                  r"(?:Z|[+-]\d{2}:?\d{2})?)?")


def display_value(value: Any, zone: ZoneInfo) -> str:
    """A data value for people: ISO times in the display zone, everything else as text."""
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    text = _text(value)
    parts = text.split("~")
    if len(parts) <= 2 and all(_ISO.fullmatch(p.strip()) for p in parts):
        shown = []
        for part in parts:
            part = part.strip()
            if len(part) == 10:
                shown.append(part)
                continue
            parsed = dt.datetime.fromisoformat(part.replace("Z", "+00:00"))
            shown.append(display_value(parsed, zone))
        return "~".join(shown)
    return text


def inbox_text(template_key: str, data: Mapping[str, Any],
               zone: ZoneInfo) -> tuple[str, list[tuple[str, str]]]:
    """The Chinese title and the (label, value) lines of a notice in the in-app inbox."""
    title, lines = TEMPLATE_KEYS.get(template_key, ("通知", ()))
    labelled = [(label, display_value(data[key], zone)) for key, label in lines
                if data.get(key) not in (None, "")]
    if not lines:  # a key this version does not know: show what there is
        labelled = [(str(key), display_value(value, zone)) for key, value in data.items()]
    return title, labelled
