"""The backend agrees with the shared table of ID-number cases the mini-program's tests run.

miniprogram/tests/fixtures/id_numbers.json is read by this test and by
miniprogram/tests/idcard.test.js, so the live check parents see while typing and the
server's final check cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from backend.core.errors import ApiError
from backend.identity.documents import parse_document
from backend.identity.models import DocumentType

TABLE = (Path(__file__).resolve().parents[2]
         / "miniprogram" / "tests" / "fixtures" / "id_numbers.json")
DOCUMENT = json.loads(TABLE.read_text(encoding="utf-8"))
TODAY = dt.date.fromisoformat(DOCUMENT["today"])


@pytest.mark.parametrize("case", DOCUMENT["cases"], ids=lambda case: case["note"])
def test_backend_gives_the_tables_answer(case: dict[str, Any]) -> None:
    document_type = DocumentType(case.get("document_type", "resident_id"))
    if case["expected"] == "OK":
        parsed = parse_document(document_type, case["id_number"], TODAY)
        assert parsed.birth_date == dt.date.fromisoformat(case["birth_date"])
        assert parsed.sex is not None
        assert parsed.sex.value == case["sex"]
        return
    with pytest.raises(ApiError) as raised:
        parse_document(document_type, case["id_number"], TODAY)
    assert raised.value.code == case["expected"]
    if "message" in case:
        assert raised.value.message == case["message"]


def test_the_table_covers_every_check() -> None:
    codes = {case["expected"] for case in DOCUMENT["cases"]}
    assert codes == {"OK", "ID_NUMBER_REQUIRED", "ID_NUMBER_LENGTH", "ID_NUMBER_FORMAT",
                     "ID_NUMBER_CHECKSUM", "ID_NUMBER_INVALID", "ID_NUMBER_TYPE_MISMATCH"}
    # Where the client may check less than the server, it only ever lets a number through.
    assert all(case["client"] == "OK" for case in DOCUMENT["cases"] if "client" in case)
