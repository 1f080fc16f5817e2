"""Admission API."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admission", __name__, url_prefix="/api/v1")
