"""Standard review reasons: one code per common problem, with the words families read."""

from __future__ import annotations

from dataclasses import dataclass

RETURN = "return"
REJECT = "reject"


@dataclass(frozen=True)
class Reason:
    """A reason code's Chinese label and the decisions it may explain."""

    label: str
    decisions: tuple[str, ...]


# Upload problems are fixable, so they return the registration (BRIEF §5: blurry or wrong
# documents get a clear reason and a fix window); only the last group ends it.
REASONS: dict[str, Reason] = {
    "PHOTO_BLURRY": Reason("照片模糊，无法辨认", (RETURN,)),
    "WRONG_DOCUMENT": Reason("材料类型错误", (RETURN,)),
    "HUKOU_FIRST_PAGE_MISSING": Reason("户口簿首页缺失", (RETURN,)),
    "HUKOU_CHILD_PAGE_MISSING": Reason("户口簿儿童本人页缺失", (RETURN,)),
    "DOCUMENT_MISMATCH": Reason("材料与儿童信息不符", (RETURN, REJECT)),
    "RESIDENCE_PROOF_MISSING": Reason("缺少实际居住证明（房产证或租赁备案）", (RETURN,)),
    "RESIDENCE_PERMIT_INVALID": Reason("居住证无效或已过期", (RETURN, REJECT)),
    "DOCUMENT_INCOMPLETE": Reason("材料不完整或不清晰", (RETURN,)),
    "SPECIAL_GROUP_PROOF_MISSING": Reason("特殊群体证明材料缺失或无法核实", (RETURN, REJECT)),
    "OUT_OF_ZONE": Reason("不在本校招生范围内", (REJECT,)),
    "NOT_ELIGIBLE_AGE": Reason("年龄不符合入学条件", (REJECT,)),
    "FALSE_INFORMATION": Reason("所填信息或材料不实", (REJECT,)),
    "FIX_DEADLINE_MISSED": Reason("未在修改期限内补正材料", (REJECT,)),
    "OTHER": Reason("其他原因（见备注）", (RETURN, REJECT)),
}

# These codes say nothing by themselves: the reviewer must explain in the note.
NOTE_REQUIRED = frozenset({"OTHER"})


def label(code: str | None) -> str | None:
    """The Chinese label of a reason code (None for no code or an unknown one)."""
    reason = REASONS.get(code or "")
    return reason.label if reason else None
