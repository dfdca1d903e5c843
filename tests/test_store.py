import asyncio
import sqlite3
from datetime import timedelta
from decimal import Decimal

import pytest

from bot import clock, demo
from bot.store import Database, audit, people, registry


async def test_schema_version_and_pragmas(db, tmp_path):
    assert (await db.one("PRAGMA user_version"))[0] >= 1
    assert (await db.one("PRAGMA journal_mode"))[0] == "wal"
    assert (await db.one("PRAGMA foreign_keys"))[0] == 1
    await db.close()
    again = await Database(db.path).open()  # re-opening applies nothing twice
    assert (await again.one("SELECT count(*) FROM members"))[0] == 0
    await again.close()
    await db.open()


async def test_constraints_refuse_what_must_never_happen(db):
    await demo.load(db, 2026)
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO users (telegram_id, member, role) VALUES (1, 'CAIRO', 'delegate')"
            )
            await tx.execute(
                "INSERT INTO users (telegram_id, member, role) VALUES (1, 'AMMAN', 'delegate')"
            )
    assert await people.account(db, 1) is None  # the whole transaction rolled back
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO users (telegram_id, member, role) VALUES (2, NULL, 'delegate')"
            )
    issued = await people.issue_invitation(db, "oicc_bot", "CAIRO", "delegate", actor="test")
    await people.redeem(db, issued.code, 5, "A", None, clock.now())
    with pytest.raises(sqlite3.IntegrityError, match="already used"):
        async with db.transaction() as tx:
            await tx.execute("UPDATE invitations SET used_at = '2030-01-01T00:00:00+00:00'")


async def test_one_code_two_accounts_at_once_binds_one(db):
    await demo.load(db, 2026)
    issued = await people.issue_invitation(db, "oicc_bot", "CAIRO", "delegate", actor="test")
    results = await asyncio.gather(
        *(people.redeem(db, issued.code, 100 + i, "X", None, clock.now()) for i in range(10))
    )
    assert sum(r is not None for r in results) == 1
    assert len(await people.delegates_of(db, "CAIRO")) == 1


async def test_expired_and_revoked_codes_do_not_redeem(db):
    await demo.load(db, 2026)
    issued = await people.issue_invitation(db, "oicc_bot", "CAIRO", "delegate", actor="test")
    later = clock.now() + timedelta(days=15)
    assert await people.redeem(db, issued.code, 7, "X", None, later) is None
    assert await people.revoke_invitations(db, "CAIRO", actor="test") == 1
    assert await people.redeem(db, issued.code, 7, "X", None, clock.now()) is None
    assert await people.account(db, 7) is None


async def test_bound_account_cannot_take_a_second_member(db):
    await demo.load(db, 2026)
    first = await people.issue_invitation(db, "b", "CAIRO", "delegate", actor="test")
    second = await people.issue_invitation(db, "b", "AMMAN", "delegate", actor="test")
    await people.redeem(db, first.code, 9, "X", None, clock.now())
    with pytest.raises(people.AlreadyRegistered):
        await people.redeem(db, second.code, 9, "X", None, clock.now())
    assert (await people.account(db, 9)).member == "CAIRO"
    assert (await people.find_invitation(db, second.code)).used_at is None


async def test_payments_add_up_in_decimals(db):
    await demo.load(db, 2026)
    for _ in range(3):
        await registry.record_payment(db, "TUNIS", 2025, "organization", Decimal("0.10"), actor="t")
    row = [
        r
        for r in await registry.dues_of(db, "TUNIS")
        if r.year == 2025 and r.fund == "organization"
    ][0]
    assert row.paid == Decimal("0.30")


async def test_reimport_updates_instead_of_duplicating(db):
    await demo.load(db, 2026)
    before = (await db.one("SELECT count(*) FROM dues"))[0]
    await demo.load(db, 2026)
    assert (await db.one("SELECT count(*) FROM dues"))[0] == before
    assert await registry.member_count(db) == len(await registry.members(db))


async def test_forget_keeps_the_audit_chain(db):
    from bot.audit import verify_chain

    await demo.load(db, 2026)
    issued = await people.issue_invitation(db, "b", "CAIRO", "delegate", actor="test")
    await people.redeem(db, issued.code, 42, "Fatima", "fatima", clock.now())
    assert await audit.forget(db, 42)
    assert await people.account(db, 42) is None
    assert (await db.one("SELECT count(*) FROM pseudonyms WHERE telegram_id = 42"))[0] == 0
    assert verify_chain(await audit.entries(db)) is None
    dump = "\n".join(str(tuple(r)) for r in await db.all("SELECT * FROM audit_log"))
    assert "Fatima" not in dump and "42," not in dump
