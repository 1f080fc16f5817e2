"""Documents each basis needs (on top of the ones the child's special groups need)."""

from __future__ import annotations

from backend.identity.categories import required_uploads
from backend.registrations.models import Basis
from backend.uploads.models import UploadKind

# Each inner tuple is "one of these": a rented home proves residence as well as an owned one.
BASIS_UPLOADS: dict[Basis, tuple[tuple[UploadKind, ...], ...]] = {
    Basis.HUKOU: ((UploadKind.HUKOU_BOOK,),),
    Basis.RESIDENCE: (
        (UploadKind.HUKOU_BOOK,),
        (UploadKind.PROPERTY_CERTIFICATE, UploadKind.RENTAL_RECORD),
    ),
    # 随迁子女: the residence permit is the main basis, with simplified materials.
    Basis.RESIDENCE_PERMIT: ((UploadKind.RESIDENCE_PERMIT,),),
}


def missing_uploads(basis: Basis, categories: list[str], have: set[UploadKind]) -> list[str]:
    """Kinds still missing for this basis and these groups (empty when complete)."""
    missing = [alternatives[0].value for alternatives in BASIS_UPLOADS[basis]
               if not have.intersection(alternatives)]
    missing += [kind.value for kind in required_uploads(categories)
                if kind not in have and kind.value not in missing]
    return missing
