"""A member's dues and what follows from them (R2 good standing, R10 eligibility)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bot import rules
from bot.registry import FUNDS, DuesRow, Member


@dataclass(frozen=True)
class YearLine:
    year: int
    fund: str
    due: Decimal
    paid: Decimal

    @property
    def outstanding(self) -> Decimal:
        return max(self.due - self.paid, Decimal("0.00"))


@dataclass(frozen=True)
class DuesReport:
    member: Member
    years: tuple[YearLine, ...]
    good_standing: rules.Verdict
    council_eligible: rules.Verdict
    voting_right_gc: bool
    voting_right_council: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "member": self.member.code,
            "good_standing": self.good_standing.ok,
            "council_eligible": self.council_eligible.ok,
            "voting_right": {"gc": self.voting_right_gc, "council": self.voting_right_council},
            "reasons": [_reason_json("good_standing", r) for r in self.good_standing.reasons]
            + [_reason_json("council_eligible", r) for r in self.council_eligible.reasons],
            "years": [
                {
                    "year": y.year,
                    "fund": y.fund,
                    "due": str(y.due),
                    "paid": str(y.paid),
                    "outstanding": str(y.outstanding),
                }
                for y in self.years
            ],
        }


def _reason_json(verdict: str, reason: rules.Reason) -> dict[str, Any]:
    out: dict[str, Any] = {"verdict": verdict, "code": reason.code}
    if reason.year is not None:
        out["year"] = reason.year
    if reason.fund is not None:
        out["fund"] = reason.fund
    if reason.outstanding is not None:
        out["outstanding"] = str(reason.outstanding)
    return out


def report(
    member: Member, ledger: Sequence[DuesRow], current_year: int, standing_years: int
) -> DuesReport:
    """Every year of the wider of the R2 and R10 windows, both funds, plus any other year
    the ledger shows something outstanding for."""
    lines = [row.line for row in ledger]
    window = min(current_year - standing_years, current_year - rules.R10_YEARS)
    shown: dict[tuple[int, str], YearLine] = (
        {
            (year, fund): YearLine(year, fund, Decimal("0.00"), Decimal("0.00"))
            for year in range(window, current_year + 1)
            for fund in FUNDS
        }
        if member.kind != "office"
        else {}
    )
    for row in ledger:
        line = YearLine(row.year, row.fund, row.due, row.paid)
        if (row.year, row.fund) in shown or line.outstanding > 0:
            shown[(row.year, row.fund)] = line
    standing = rules.good_standing(member.facts, lines, current_year, standing_years)
    return DuesReport(
        member=member,
        years=tuple(sorted(shown.values(), key=lambda y: (y.year, FUNDS.index(y.fund)))),
        good_standing=standing,
        council_eligible=rules.council_eligible(member.facts, lines, current_year),
        voting_right_gc=rules.holds_voting_right(member.facts, "gc", standing.ok),
        voting_right_council=rules.holds_voting_right(member.facts, "council", standing.ok),
    )


def in_arrears(member: Member, ledger: Sequence[DuesRow], current_year: int, years: int) -> bool:
    return rules.in_arrears(member.facts, [r.line for r in ledger], current_year, years)
