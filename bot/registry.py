"""The member registry and the dues ledger as the secretariat keeps them: CSV in, values out.

Parsing is all or nothing: the first bad row stops the import with its line number and
the reason, and nothing is written.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import cast

from bot import usertext
from bot.rules import CouncilSeat, DuesLine, Fund, Kind, MemberFacts, Region

MEMBER_COLUMNS = (
    "code",
    "name_en",
    "name_fr",
    "name_ar",
    "country",
    "region",
    "kind",
    "council",
    "active",
)
DUES_COLUMNS = ("member", "year", "fund", "due", "paid")
REGIONS = ("african", "arab", "asian")
KINDS = ("capital", "city", "office")
COUNCIL = ("permanent", "elected", "none")
FUNDS = ("organization", "cooperation_fund")
CODE_MAX = 32


class ImportProblem(ValueError):
    """A CSV row that cannot be imported: ``line`` is 1-based, the header being line 1."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}" if line else reason)
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class Member:
    code: str
    name_en: str
    name_fr: str
    name_ar: str
    country: str
    region: str
    kind: str
    council: str
    active: bool

    def name(self, locale: str) -> str:
        return {"ar": self.name_ar, "fr": self.name_fr}.get(locale, self.name_en)

    @property
    def facts(self) -> MemberFacts:
        return MemberFacts(
            code=self.code,
            kind=cast(Kind, self.kind),
            council=cast(CouncilSeat, self.council),
            active=self.active,
            region=cast(Region, self.region),
        )


def normalize_code(raw: str) -> str:
    return raw.strip().upper()


def valid_code(code: str) -> bool:
    return 0 < len(code) <= CODE_MAX and all(
        c.isascii() and (c.isalnum() or c in "_-") for c in code
    )


def parse_amount(raw: str) -> Decimal:
    """A non-negative amount with at most two decimals, as a Decimal."""
    text = raw.strip().replace(",", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not an amount: {raw!r}") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"not a non-negative amount: {raw!r}")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"more than two decimals: {raw!r}")
    return amount.quantize(Decimal("0.01"))


def csv_rows(text: str, columns: tuple[str, ...]) -> Iterable[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = tuple((name or "").strip() for name in (reader.fieldnames or ()))
    missing = [c for c in columns if c not in header]
    if missing:
        raise ImportProblem(1, "missing column(s): " + ", ".join(missing))
    for row in reader:
        if None in row:
            raise ImportProblem(reader.line_num, "more fields than columns")
        # A quoted field may span lines: the record starts that many lines earlier.
        line = reader.line_num - sum((v or "").count("\n") for v in row.values())
        values = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
        if not any(values.values()):
            continue
        for column, value in values.items():
            why = usertext.problem(value)
            if why is not None:
                raise ImportProblem(line, f"{column} {why}")
        yield line, values


def _choice(line: int, column: str, value: str, allowed: tuple[str, ...]) -> str:
    value = value.lower()
    if value not in allowed:
        raise ImportProblem(line, f"{column} must be one of {'|'.join(allowed)}, got {value!r}")
    return value


def parse_members(text: str) -> list[Member]:
    members: list[Member] = []
    seen: set[str] = set()
    for line, row in csv_rows(text, MEMBER_COLUMNS):
        code = normalize_code(row["code"])
        if not valid_code(code):
            raise ImportProblem(line, f"code must be 1-{CODE_MAX} letters, digits, - or _")
        if code in seen:
            raise ImportProblem(line, f"member {code} appears twice")
        seen.add(code)
        for column in ("name_en", "name_fr", "name_ar", "country"):
            if not row[column]:
                raise ImportProblem(line, f"{column} is empty")
        active = row["active"].lower()
        if active not in ("true", "false"):
            raise ImportProblem(line, f"active must be true or false, got {row['active']!r}")
        kind = _choice(line, "kind", row["kind"], KINDS)
        council = _choice(line, "council", row["council"], COUNCIL)
        if kind == "office" and council == "none":
            raise ImportProblem(line, "the Secretary General (kind office) sits on the council")
        members.append(
            Member(
                code=code,
                name_en=row["name_en"],
                name_fr=row["name_fr"],
                name_ar=row["name_ar"],
                country=row["country"],
                region=_choice(line, "region", row["region"], REGIONS),
                kind=kind,
                council=council,
                active=active == "true",
            )
        )
    if not members:
        raise ImportProblem(0, "no members in the file")
    return members


@dataclass(frozen=True)
class DuesRow:
    member: str
    year: int
    fund: str
    due: Decimal
    paid: Decimal

    @property
    def line(self) -> DuesLine:
        return DuesLine(year=self.year, fund=cast(Fund, self.fund), due=self.due, paid=self.paid)


def parse_year(raw: str) -> int:
    if not raw.strip().isdecimal() or not 1970 <= int(raw) <= 2200:
        raise ValueError(f"not a year: {raw!r}")
    return int(raw)


def parse_dues(text: str, member_kinds: dict[str, str]) -> list[DuesRow]:
    """Dues rows; ``member_kinds`` maps every known member code to its kind."""
    rows: list[DuesRow] = []
    seen: set[tuple[str, int, str]] = set()
    for line, row in csv_rows(text, DUES_COLUMNS):
        member = normalize_code(row["member"])
        if member not in member_kinds:
            raise ImportProblem(line, f"unknown member {member!r}")
        if member_kinds[member] == "office":
            raise ImportProblem(
                line, f"{member} is the Secretary General's office, which pays no dues"
            )
        try:
            year = parse_year(row["year"])
            due = parse_amount(row["due"])
            paid = parse_amount(row["paid"])
        except ValueError as exc:
            raise ImportProblem(line, str(exc)) from None
        fund = _choice(line, "fund", row["fund"], FUNDS)
        key = (member, year, fund)
        if key in seen:
            raise ImportProblem(line, f"{member} {year} {fund} appears twice")
        seen.add(key)
        rows.append(DuesRow(member, year, fund, due, paid))
    if not rows:
        raise ImportProblem(0, "no dues in the file")
    return rows
