"""The tamper-evident audit log: each entry's hash covers its content and the previous hash.

Altering, removing or inserting an entry breaks the chain at that entry, and
``verify_chain`` names it. Removing entries from the end leaves a shorter chain that is
intact by itself, so the last entry's id and hash are also kept apart (the head); a log
that ends before its head, or after it, is reported too.

What the chain cannot show: someone with write access to the file who rewrites every
entry from some point on, recomputing the hashes, and the head with them. Against that,
keep the head printed by ``oicc-bot audit verify`` (or the last hash of an export) in the
minutes: a later log must still contain that entry with that hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
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
    reason: str


@dataclass(frozen=True)
class Head:
    """The last entry as recorded apart from the log."""

    id: int
    hash: str


def verify_chain(entries: Iterable[Entry]) -> ChainProblem | None:
    """The first entry where the chain breaks, or None when it is intact."""
    prev_hash = GENESIS
    prev_id = 0
    for entry in entries:
        if entry.id > prev_id + 1:
            missing = (
                f"entry {prev_id + 1}"
                if entry.id == prev_id + 2
                else f"entries {prev_id + 1} to {entry.id - 1}"
            )
            return ChainProblem(entry.id, f"{missing} removed before it")
        if entry.id != prev_id + 1:
            return ChainProblem(entry.id, "out of sequence: an entry was inserted before it")
        if entry.prev_hash != prev_hash:
            return _unlinked(entry, prev_id)
        if _rehash(entry, entry.id) != entry.hash:
            return ChainProblem(entry.id, "altered")
        prev_hash = entry.hash
        prev_id = entry.id
    return None


def _rehash(entry: Entry, entry_id: int) -> str:
    """The entry's hash as it would be at ``entry_id``."""
    return entry_hash(
        entry_id,
        entry.at,
        entry.actor,
        entry.member,
        entry.action,
        entry.details,
        entry.prev_hash,
    )


def _unlinked(entry: Entry, prev_id: int, reach: int = 64) -> ChainProblem:
    """An entry that does not follow the one before it. A hash covers its entry's id, so
    when the entries after an insertion or removal were renumbered to hide it, each one's
    hash still fits the id it had: the shift tells what happened, and where."""
    for shift in range(1, reach + 1):
        if _rehash(entry, entry.id - shift) == entry.hash:
            first = entry.id - shift
            what = f"entry {first}" if shift == 1 else f"entries {first} to {entry.id - 1}"
            return ChainProblem(first, f"inserted: {what}, the entries after renumbered")
        if _rehash(entry, entry.id + shift) == entry.hash:
            count = "1 entry" if shift == 1 else f"{shift} entries"
            return ChainProblem(
                entry.id, f"{count} removed before it, the entries after renumbered"
            )
    return ChainProblem(
        entry.id, f"does not follow entry {prev_id}: an entry was removed or inserted before it"
    )


def verify_log(entries: Sequence[Entry], head: Head | None) -> ChainProblem | None:
    """``verify_chain``, and the log must end exactly at the head recorded apart from it."""
    problem = verify_chain(entries)
    if problem is not None:
        return problem
    last = entries[-1] if entries else None
    last_id = last.id if last else 0
    if head is None:
        return ChainProblem(last_id, "the log's head record is missing") if last else None
    if head.id > last_id:
        return ChainProblem(
            last_id + 1,
            f"removed: the log ends at entry {last_id} but its head records entry {head.id}",
        )
    if head.id < last_id:
        return ChainProblem(head.id + 1, f"added after the head, which records entry {head.id}")
    if last is not None and head.hash != last.hash:
        return ChainProblem(last_id, "altered: its hash is not the one the head records")
    return None
