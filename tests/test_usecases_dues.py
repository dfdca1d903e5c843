"""Recording payments: each is one decision, so payments recorded at once all add up."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from bot import clock, demo
from bot.store import Database, registry
from bot.usecases import dues

YEAR = clock.now().year


async def test_payments_at_once_all_add_up(tmp_path):
    path = str(tmp_path / "dues.sqlite3")
    db = await Database(path).open()
    other = await Database(path).open()
    try:
        await demo.load(db, YEAR, meeting=False)
        before = {(r.year, r.fund): r.paid for r in await registry.dues_of(db, "TUNIS")}
        start = before.get((YEAR - 1, "organization"), Decimal("0"))
        paid = await asyncio.gather(
            *(
                dues.record_payment(
                    db if n % 2 else other, "TUNIS", YEAR - 1, "organization", Decimal("10.05")
                )
                for n in range(12)
            )
        )
        assert all(p.status == "recorded" for p in paid)
        assert max(p.row.paid for p in paid) == start + Decimal("120.60")
        after = {(r.year, r.fund): r.paid for r in await registry.dues_of(db, "TUNIS")}
        assert after[(YEAR - 1, "organization")] == start + Decimal("120.60")
    finally:
        await other.close()
        await db.close()


async def test_what_is_not_a_payment_changes_nothing(db):
    await demo.load(db, YEAR, meeting=False)
    before = await registry.dues_of(db, "TUNIS")
    assert (await dues.record_payment(db, "SG", YEAR, "organization", Decimal(1))).status == (
        "office"
    )
    assert (await dues.record_payment(db, "NOPE", YEAR, "organization", Decimal(1))).status == (
        "unknown_member"
    )
    assert (await dues.record_payment(db, "TUNIS", YEAR, "pension", Decimal(1))).status == (
        "bad_fund"
    )
    assert (await dues.record_payment(db, "TUNIS", YEAR, "organization", Decimal(0))).status == (
        "bad_amount"
    )
    assert await registry.dues_of(db, "TUNIS") == before
