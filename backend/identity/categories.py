"""Special groups (BRIEF §2 rule 7) and the documents each one needs."""

from __future__ import annotations

from backend.uploads.models import UploadKind

# key → (Chinese label, upload kinds required to prove it)
CATEGORIES: dict[str, tuple[str, tuple[UploadKind, ...]]] = {
    # 随迁子女: residence permit as the main basis, simplified materials.
    "migrant": ("随迁子女", (UploadKind.RESIDENCE_PERMIT,)),
    "disability": ("残疾儿童少年", (UploadKind.DISABILITY_CERTIFICATE,)),
    "martyr_child": ("烈士子女", (UploadKind.ENTITLEMENT_PROOF,)),
    "military_child": ("现役军人子女", (UploadKind.ENTITLEMENT_PROOF,)),
    "police_hero_child": ("公安英模和因公牺牲伤残警察子女", (UploadKind.ENTITLEMENT_PROOF,)),
    "other_entitled": ("其他优抚对象子女", (UploadKind.ENTITLEMENT_PROOF,)),
    "overseas_chinese": ("华侨子女", (UploadKind.IDENTITY_DOCUMENT,)),
    "hmt": ("港澳台籍儿童", (UploadKind.IDENTITY_DOCUMENT,)),
    "international": ("国际学生", (UploadKind.IDENTITY_DOCUMENT,)),
}

# 残疾儿童: the family's wish, decided after assessment (随班就读 first, near home).
PLACEMENT_WISHES = {
    "regular_class": "随班就读",
    "special_school": "特教学校",
    "home_teaching": "送教上门",
}

UPLOAD_KIND_NAMES = {
    UploadKind.HUKOU_BOOK: "户口簿（户主页及儿童页）",
    UploadKind.PROPERTY_CERTIFICATE: "房产证或购房合同",
    UploadKind.RENTAL_RECORD: "房屋租赁备案证明",
    UploadKind.RESIDENCE_PERMIT: "居住证",
    UploadKind.BIRTH_CERTIFICATE: "出生医学证明",
    UploadKind.DISABILITY_CERTIFICATE: "残疾证或残疾评估意见",
    UploadKind.ENTITLEMENT_PROOF: "优抚对象证明材料",
    UploadKind.EMPLOYMENT_PROOF: "务工或经商证明",
    UploadKind.IDENTITY_DOCUMENT: "护照、通行证或港澳台居民居住证",
    UploadKind.OTHER: "其他材料",
}


def required_uploads(categories: list[str]) -> list[UploadKind]:
    """The upload kinds the child's categories need, without repeats, in a stable order."""
    kinds: list[UploadKind] = []
    for key in categories:
        for kind in CATEGORIES[key][1]:
            if kind not in kinds:
                kinds.append(kind)
    return kinds
