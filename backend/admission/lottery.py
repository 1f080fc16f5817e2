"""The verifiable lottery (随机派位), as pure functions: no Flask, no database.

`scripts/verify_lottery` re-implements exactly this with the standard library alone, from the
published evidence; keep the two in step (a test runs both on the same draw).

1. *Commit* (freeze): the committed document holds the algorithm version, the school, the
   season, the seat count, the ordered tier rules, the named future public value, whether the
   run is practice, and the applicants — sorted pseudonymous ids with their tier. Its
   canonical JSON (sorted keys, no spaces, UTF-8) is hashed: commitment = SHA-256(document).
2. *Draw*: seed = SHA-256(bytes.fromhex(commitment) ‖ UTF-8(public value)); each applicant's
   lottery number = HMAC-SHA256(key=bytes.fromhex(seed), msg=UTF-8(pseudonym)), in hex.
   Nothing random is ever stored: the number is derived, so re-applying cannot re-roll it.
3. *Order*: by tier (1 first), then lottery number; the first `seats` are admitted, the rest
   form the waitlist in that order. Whole tiers that fit are admitted; the lottery decides
   only inside the tier that does not fit.
4. *Not oversubscribed*: applicants ≤ seats, everyone is admitted without a draw; the order
   is by tier, then pseudonym.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

ALGORITHM_VERSION = "tiered-hmac-sha256-v1"
DOCUMENT_FORMAT = "admission-lottery-commitment"


class Applicant(NamedTuple):
    """One committed applicant: a pseudonymous id and a tier rank (1 is served first)."""

    pseudonym: str
    tier: int


class Placed(NamedTuple):
    """One applicant's place in the result."""

    position: int
    pseudonym: str
    tier: int
    lottery_number: str | None
    admitted: bool


def normalize_public_value(value: str) -> str:
    """The public value as it is hashed: NFC, whitespace runs collapsed to one space."""
    return " ".join(unicodedata.normalize("NFC", value).split())


def commitment_document(*, school: str, season: int, seats: int,
                        tiers: Sequence[dict[str, Any]], applicants: Iterable[Applicant],
                        public_value_source: str, practice: bool,
                        algorithm: str = ALGORITHM_VERSION) -> dict[str, Any]:
    """The document the commitment hashes (applicants sorted by pseudonym)."""
    return {
        "format": DOCUMENT_FORMAT,
        "algorithm": algorithm,
        "school": school,
        "season": season,
        "seats": seats,
        "practice": practice,
        "public_value_source": public_value_source,
        "tiers": [dict(t) for t in tiers],
        "applicants": [[a.pseudonym, a.tier]
                       for a in sorted(applicants, key=lambda a: a.pseudonym)],
    }


def canonical_bytes(document: dict[str, Any]) -> bytes:
    """Canonical JSON: sorted keys, no whitespace, UTF-8 (not ASCII-escaped)."""
    return json.dumps(document, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode("utf-8")


def commitment_of(document: dict[str, Any]) -> str:
    """SHA-256 of the canonical document, hex."""
    return hashlib.sha256(canonical_bytes(document)).hexdigest()


def seed_of(commitment: str, public_value: str) -> str:
    """seed = SHA-256(commitment bytes ‖ public value UTF-8), hex."""
    return hashlib.sha256(bytes.fromhex(commitment) + public_value.encode("utf-8")).hexdigest()


def lottery_number(seed: str, pseudonym: str) -> str:
    """HMAC-SHA256(seed, pseudonym), hex: the applicant's lottery number."""
    return hmac.digest(bytes.fromhex(seed), pseudonym.encode("utf-8"), "sha256").hex()


def oversubscribed(applicant_count: int, seats: int) -> bool:
    """Whether a draw is needed at all."""
    return applicant_count > seats


def draw(applicants: Sequence[Applicant], seats: int, seed: str | None) -> list[Placed]:
    """The ordered result: by tier then lottery number; the first `seats` are admitted.

    `seed` may be None only when the school is not oversubscribed (no draw).
    """
    if seed is None:
        if oversubscribed(len(applicants), seats):
            raise ValueError("an oversubscribed lottery needs a seed")
        ordered = sorted(applicants, key=lambda a: (a.tier, a.pseudonym))
        return [Placed(n, a.pseudonym, a.tier, None, True)
                for n, a in enumerate(ordered, start=1)]
    key = bytes.fromhex(seed)
    keyed = sorted(
        ((a.tier, hmac.digest(key, a.pseudonym.encode("utf-8"), "sha256").hex(), a)
         for a in applicants),
        key=lambda item: (item[0], item[1], item[2].pseudonym))
    return [Placed(n, a.pseudonym, tier, number, n <= seats)
            for n, (tier, number, a) in enumerate(keyed, start=1)]
