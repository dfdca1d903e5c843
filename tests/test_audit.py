from dataclasses import replace

from bot.audit import GENESIS, Entry, Head, entry_hash, verify_chain, verify_log


def chain(n):
    entries, prev = [], GENESIS
    for i in range(1, n + 1):
        h = entry_hash(i, "2026-11-25T00:00:00+00:00", "u-1", "CAIRO", "x", "{}", prev)
        entries.append(Entry(i, "2026-11-25T00:00:00+00:00", "u-1", "CAIRO", "x", "{}", prev, h))
        prev = h
    return entries


def test_intact_chain():
    assert verify_chain(chain(5)) is None


def test_altered_removed_inserted():
    entries = chain(5)
    altered = entries[:2] + [replace(entries[2], details='{"a":1}')] + entries[3:]
    assert verify_chain(altered).entry_id == 3
    removed = entries[:2] + entries[3:]
    assert verify_chain(removed).entry_id == 4
    inserted = (
        entries[:2] + [replace(entries[2], id=3)] + [replace(e, id=e.id + 1) for e in entries[2:]]
    )
    # a copy of entry 3 put in at 3, the rest pushed down: the hashes of the pushed-down
    # entries still fit their old ids, so the insertion is named where it happened
    assert verify_chain(inserted).entry_id == 3


def test_renumbered_insertion_and_removal_are_named():
    entries = chain(6)
    forged_hash = entry_hash(4, "2026-11-25T00:00:00+00:00", "cli", "X", "y", "{}", entries[2].hash)
    forged = Entry(
        4, "2026-11-25T00:00:00+00:00", "cli", "X", "y", "{}", entries[2].hash, forged_hash
    )
    inserted = entries[:3] + [forged] + [replace(e, id=e.id + 1) for e in entries[3:]]
    problem = verify_chain(inserted)
    assert problem.entry_id == 4 and problem.reason.startswith("inserted")
    removed = entries[:3] + [replace(e, id=e.id - 1) for e in entries[4:]]
    problem = verify_chain(removed)
    assert problem.entry_id == 4 and "1 entry removed" in problem.reason


def test_the_head_shows_what_the_chain_cannot():
    entries = chain(5)
    head = Head(5, entries[-1].hash)
    assert verify_log(entries, head) is None
    assert verify_log([], None) is None
    truncated = verify_log(entries[:3], head)
    assert truncated.entry_id == 4 and "removed" in truncated.reason
    assert verify_log(entries, Head(4, entries[3].hash)).entry_id == 5
    assert verify_log(entries, Head(5, "0" * 64)).entry_id == 5
    assert "missing" in verify_log(entries, None).reason
