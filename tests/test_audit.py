from dataclasses import replace

from bot.audit import GENESIS, Entry, entry_hash, verify_chain


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
    assert verify_chain(inserted).entry_id == 4
