"""Request models of the exports API."""

from __future__ import annotations

from pydantic import Field

from backend.reviews.schemas import RegistrationFilterQuery


class ExportQuery(RegistrationFilterQuery):
    """The staff list's filters, and whether to export names and numbers in full."""

    full: bool = Field(default=False,
                       description="bureau admins only: full names, ID numbers and phones; "
                                   "audited")
