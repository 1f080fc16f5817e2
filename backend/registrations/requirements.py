"""What a registration must prove, requirement by requirement, and whether government data
already proved it: the reviewer's view, the "all verified" filter and the batch approval.

A requirement is one group of `materials.BASIS_UPLOADS` (any one document of the group fills
it) or one document a special group adds. It is *verified* when a confirmed data check stands
in for one of its documents (`verification.services.FACT_DOCUMENTS`), *uploaded* when the
family sent one of its documents with the registration, else *missing*. The same rule is
written once in Python (`requirements_of`, one registration) and once as SQL
(`all_verified`, for lists and counts), both from the same tables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import (
    ColumnElement,
    String,
    Subquery,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    not_,
    or_,
    select,
)

from backend.govdata.sources import Fact
from backend.identity.categories import CATEGORIES
from backend.identity.models import Child
from backend.registrations.materials import BASIS_UPLOADS
from backend.registrations.models import Basis, Registration
from backend.uploads.models import UploadKind
from backend.verification.models import CheckStatus, DataCheck
from backend.verification.services import FACT_DOCUMENTS

# The fact whose confirmation stands in for each document kind (the others need a document).
KIND_FACTS: dict[UploadKind, Fact] = {kind: fact for fact, kind in FACT_DOCUMENTS.items()}


def required_groups(basis: Basis, categories: list[str]) -> list[tuple[UploadKind, ...]]:
    """The registration's requirements: the basis's groups, then each document the special
    groups add that no basis group already asks for."""
    groups = list(BASIS_UPLOADS[basis])
    for key in categories:
        for kind in CATEGORIES[key][1] if key in CATEGORIES else ():
            if not any(kind in group for group in groups):
                groups.append((kind,))
    return groups


@dataclass(frozen=True)
class Requirement:
    """One requirement of one registration as its reviewer sees it."""

    kinds: tuple[UploadKind, ...]  # the documents that fill it (any one)
    kind: UploadKind  # the one that did, or the first when none did
    state: str  # verified | uploaded | missing
    check: DataCheck | None  # the confirmed check, or the one that did not pass
    upload_ids: list[str] = field(default_factory=list)


def requirements_of(registration: Registration, checks: list[DataCheck]) -> list[Requirement]:
    """Per requirement: verified by a source, a document to look at, or missing, with the
    check that explains why the family uploaded."""
    by_kind = {FACT_DOCUMENTS[c.fact]: c for c in checks}
    uploads: dict[UploadKind, list[str]] = {}
    for upload in registration.uploads:
        uploads.setdefault(upload.kind, []).append(upload.id)
    found = []
    for group in required_groups(registration.basis, list(registration.child.categories or [])):
        confirmed = next((k for k in group if k in by_kind
                          and by_kind[k].status is CheckStatus.CONFIRMED), None)
        sent = next((k for k in group if k in uploads), None)
        asked = next((k for k in group if k in by_kind), None)
        ids = [i for k in group for i in uploads.get(k, [])]
        if confirmed is not None:
            found.append(Requirement(group, confirmed, "verified", by_kind[confirmed], ids))
        elif sent is not None:
            check = by_kind.get(sent) or (by_kind[asked] if asked else None)
            found.append(Requirement(group, sent, "uploaded", check, ids))
        else:
            found.append(Requirement(group, asked or group[0], "missing",
                                     by_kind[asked] if asked else None, ids))
    return found


# --- the same rule in SQL (over Registration joined with Child) ------------------------------


def has_category(key: str) -> ColumnElement[bool]:
    """SQL: the child is in this special group."""
    # Keys are fixed identifiers, so '"key"' in the JSON text is exact (quotes delimit it)
    # and the same SQL works on SQLite and PostgreSQL.
    return cast(Child.categories, String).like(f'%"{key}"%')


def _confirmed(fact: Fact) -> ColumnElement[bool]:
    # Served by the unique (child_id, fact) index of data_checks.
    return exists().where(DataCheck.child_id == Registration.child_id, DataCheck.fact == fact,
                          DataCheck.status == CheckStatus.CONFIRMED)


FactTest = Callable[[Fact], ColumnElement[bool]]
# One bit per fact, for `confirmed_facts`.
FACT_BITS: dict[Fact, int] = {fact: 1 << n for n, fact in enumerate(Fact)}


def confirmed_facts() -> Subquery:
    """SQL: per child with a confirmed check, the confirmed facts as a bit mask (unique
    (child_id, fact) makes the sum an OR). For statements over a whole season, where one
    hash join costs far less than an index probe per registration and fact."""
    bit = case(*((DataCheck.fact == fact, value) for fact, value in FACT_BITS.items()),
               else_=0)
    return (select(DataCheck.child_id, func.sum(bit).label("mask"))
            .where(DataCheck.status == CheckStatus.CONFIRMED)
            .group_by(DataCheck.child_id).subquery("confirmed_facts"))


def confirmed_in(mask: ColumnElement[int]) -> FactTest:
    """A fact test over `confirmed_facts()`'s mask, outer-joined on the registration's child."""
    def test(fact: Fact) -> ColumnElement[bool]:
        return (func.coalesce(mask, 0) // FACT_BITS[fact]) % 2 == 1
    return test


def _group_verified(kinds: tuple[UploadKind, ...], confirmed: FactTest) -> ColumnElement[bool]:
    facts = [KIND_FACTS[k] for k in kinds if k in KIND_FACTS]
    return or_(*(confirmed(f) for f in facts)) if facts else false()


def all_verified(confirmed: FactTest = _confirmed) -> ColumnElement[bool]:
    """SQL: every requirement of the registration is confirmed by a source (no document
    needed); needs Registration joined with Child. `confirmed` tests one fact: by default an
    EXISTS on data_checks (lists, the batch), or `confirmed_in` a joined mask (the counts)."""
    by_basis = or_(*(and_(Registration.basis == basis,
                          *(_group_verified(g, confirmed) for g in groups))
                     for basis, groups in BASIS_UPLOADS.items()))
    # A special group's documents: a source must confirm each of them too (most have none).
    by_category = [or_(not_(has_category(key)),
                       and_(*(_group_verified((k,), confirmed) for k in kinds)))
                   for key, (_name, kinds) in CATEGORIES.items()]
    return and_(by_basis, *by_category)
