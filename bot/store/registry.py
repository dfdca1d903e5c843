"""Members and the dues ledger."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from bot.registry import DuesRow, Member
from bot.store import Database, audit

_MEMBER_FIELDS = "code, name_en, name_fr, name_ar, country, region, kind, council, active"


def _member(row: Sequence[Any]) -> Member:
    code, name_en, name_fr, name_ar, country, region, kind, council, active = tuple(row)
    return Member(code, name_en, name_fr, name_ar, country, region, kind, council, bool(active))


async def import_members(db: Database, members: Sequence[Member], actor: str = "cli") -> int:
    """Insert or update every member in one transaction; returns how many rows."""
    async with db.transaction() as tx:
        await tx.executemany(
            f"INSERT INTO members ({_MEMBER_FIELDS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(code) DO UPDATE SET name_en = excluded.name_en,"
            " name_fr = excluded.name_fr, name_ar = excluded.name_ar,"
            " country = excluded.country, region = excluded.region, kind = excluded.kind,"
            " council = excluded.council, active = excluded.active",
            [
                (
                    m.code,
                    m.name_en,
                    m.name_fr,
                    m.name_ar,
                    m.country,
                    m.region,
                    m.kind,
                    m.council,
                    int(m.active),
                )
                for m in members
            ],
        )
        await audit.append(tx, "members_imported", {"count": len(members)}, actor=actor)
    return len(members)


async def import_dues(db: Database, rows: Sequence[DuesRow], actor: str = "cli") -> int:
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO dues (member, year, fund, due, paid) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT(member, year, fund) DO UPDATE SET due = excluded.due,"
            " paid = excluded.paid",
            [(r.member, r.year, r.fund, str(r.due), str(r.paid)) for r in rows],
        )
        await audit.append(tx, "dues_imported", {"count": len(rows)}, actor=actor)
    return len(rows)


async def member_kinds(db: Database) -> dict[str, str]:
    return {str(r[0]): str(r[1]) for r in await db.all("SELECT code, kind FROM members")}


async def get_member(db: Database, code: str) -> Member | None:
    row = await db.one(f"SELECT {_MEMBER_FIELDS} FROM members WHERE code = ?", (code,))
    return _member(row) if row else None


async def members(db: Database) -> list[Member]:
    rows = await db.all(f"SELECT {_MEMBER_FIELDS} FROM members ORDER BY code")
    return [_member(r) for r in rows]


async def member_count(db: Database) -> int:
    row = await db.one("SELECT count(*) FROM members")
    return int(row[0]) if row else 0


async def dues_of(db: Database, code: str) -> list[DuesRow]:
    rows = await db.all(
        "SELECT member, year, fund, due, paid FROM dues WHERE member = ? ORDER BY year, fund",
        (code,),
    )
    return [_dues(r) for r in rows]


async def all_dues(db: Database) -> dict[str, list[DuesRow]]:
    ledger: dict[str, list[DuesRow]] = {}
    for row in await db.all("SELECT member, year, fund, due, paid FROM dues ORDER BY year, fund"):
        ledger.setdefault(str(row[0]), []).append(_dues(row))
    return ledger


def _dues(row: Sequence[Any]) -> DuesRow:
    return DuesRow(
        str(row[0]),
        int(row[1]),
        str(row[2]),
        Decimal(str(row[3])),
        Decimal(str(row[4])),
    )


async def record_payment(
    db: Database,
    member: str,
    year: int,
    fund: str,
    amount: Decimal,
    *,
    actor_id: int | None = None,
    actor: str | None = None,
) -> DuesRow:
    """Add ``amount`` to what is paid for that year and fund (a row is created if none).

    Amounts are added as decimals in Python, never as floats in SQL.
    """
    async with db.transaction() as tx:
        row = await tx.one(
            "SELECT due, paid FROM dues WHERE member = ? AND year = ? AND fund = ?",
            (member, year, fund),
        )
        due = Decimal(str(row[0])) if row else Decimal("0.00")
        paid = (Decimal(str(row[1])) if row else Decimal("0.00")) + amount
        await tx.execute(
            "INSERT INTO dues (member, year, fund, due, paid) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT(member, year, fund) DO UPDATE SET paid = excluded.paid",
            (member, year, fund, str(due), str(paid)),
        )
        await audit.append(
            tx,
            "payment_recorded",
            {
                "member": member,
                "year": year,
                "fund": fund,
                "amount": str(amount),
                "paid": str(paid),
            },
            actor_id=actor_id,
            actor=actor,
            member=member,
        )
    return DuesRow(member, year, fund, due, paid)
