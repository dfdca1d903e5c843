"""The tamper-evident audit log: each entry's hash covers its content and the previous hash.

Altering, removing or inserting an entry breaks the chain at that entry, and
``verify_chain`` names it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True)
class Entry:
    id: int
    at: str
    actor: str | None
    member: str | None
    action: str
    details: str
    prev_hash: str
    hash: str


def canonical_details(details: Mapping[str, Any]) -> str:
    return json.dumps(
        details, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )


def entry_hash(
    entry_id: int,
    at: str,
    actor: str | None,
    member: str | None,
    action: str,
    details: str,
    prev_hash: str,
) -> str:
    payload = json.dumps(
        [entry_id, at, actor, member, action, details, prev_hash],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True)
class ChainProblem:
    entry_id: int
    reason: str  # "altered", "removed or inserted before it", "bad sequence"


def verify_chain(entries: Iterable[Entry]) -> ChainProblem | None:
    """The first entry where the chain breaks, or None when it is intact."""
    prev_hash = GENESIS
    prev_id = 0
    for entry in entries:
        if entry.id != prev_id + 1:
            return ChainProblem(entry.id, "removed or inserted before it")
        if entry.prev_hash != prev_hash:
            return ChainProblem(entry.id, "removed or inserted before it")
        expected = entry_hash(
            entry.id,
            entry.at,
            entry.actor,
            entry.member,
            entry.action,
            entry.details,
            entry.prev_hash,
        )
        if expected != entry.hash:
            return ChainProblem(entry.id, "altered")
        prev_hash = entry.hash
        prev_id = entry.id
    return None
