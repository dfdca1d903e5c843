"""Recording a payment to the dues ledger (R2), as one decision."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from bot import registry as registry_core
from bot.registry import DuesRow, Member
from bot.store import Database, registry


@dataclass(frozen=True)
class Payment:
    status: Literal["recorded", "unknown_member", "office", "bad_fund", "bad_amount"]
    member: Member | None = None
    row: DuesRow | None = None  # the year and fund after the payment


async def record_payment(
    db: Database,
    code: str,
    year: int,
    fund: str,
    amount: Decimal,
    *,
    actor_id: int | None = None,
    actor: str | None = None,
) -> Payment:
    """Add ``amount`` to what ``code`` paid to ``fund`` for ``year``: a capital or city
    (the Secretary General's office pays no dues), a known fund, a positive amount."""
    if fund not in registry_core.FUNDS:
        return Payment("bad_fund")
    if amount <= 0:
        return Payment("bad_amount")
    async with db.transaction() as tx:
        member = await registry.get_member(tx.db, code)
        if member is None:
            return Payment("unknown_member")
        if member.kind == "office":
            return Payment("office", member)
        row = await registry.record_payment(
            tx.db, member.code, year, fund, amount, actor_id=actor_id, actor=actor
        )
    return Payment("recorded", member, row)
