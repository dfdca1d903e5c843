"""The statute of the Organization of Islamic Capitals and Cities, as pure functions.

Every rule the bot applies (R1 to R12) is decided here and nowhere else. Nothing in this
module reads the clock, the database or Telegram: times, the current year and the
registry's facts are parameters, and the answers are plain values.

Each function's docstring quotes the statute sentence it applies, verbatim, on lines
starting with ``>``, then says how the sentence is read. Decisions carry structured
reasons (a code plus data) rather than sentences, so that they can be rendered in
Arabic, English and French; every code used is listed in ``REASON_CODES``.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal, get_args

Body = Literal["gc", "council"]
Fund = Literal["organization", "cooperation_fund"]
Kind = Literal["capital", "city", "office"]
CouncilSeat = Literal["permanent", "elected", "none"]
Region = Literal["african", "arab", "asian"]
SessionKind = Literal["ordinary", "extraordinary"]
Choice = Literal["yes", "no", "abstain"]
Requester = Literal["secretary_general", "council_chair"]
QuorumCall = Literal["open", "postpone", "inquorate"]
QuestionKind = Literal["resolution", "council_election", "single_election"]

BODIES: tuple[Body, ...] = get_args(Body)
FUNDS: tuple[Fund, ...] = ("organization", "cooperation_fund")
KINDS: tuple[Kind, ...] = get_args(Kind)
COUNCIL_SEATS: tuple[CouncilSeat, ...] = get_args(CouncilSeat)
REGIONS: tuple[Region, ...] = ("african", "arab", "asian")
QUESTION_KINDS: tuple[QuestionKind, ...] = get_args(QuestionKind)

DEFAULT_GOOD_STANDING_YEARS = 3
"""R2's window when ``GOOD_STANDING_YEARS`` is not set."""
R10_YEARS = 3
"""R10's "last three years": a candidate's window, which no setting changes."""
POSTPONEMENT_MINUTES = 120
"""R4's "two hours", the default of ``POSTPONEMENT_MINUTES``."""
MAX_COUNCIL_SEATS = 28
MAX_PERMANENT_SEATS = 4
MAX_ELECTED_SEATS = 23
GC_REQUEST_SIGNATORIES = 10
COUNCIL_REQUEST_SIGNATORIES = 5

REASON_CODES: frozenset[str] = frozenset(
    {
        "paid_up",  # every due in the window is paid (a positive reason)
        "unpaid",  # year, fund and outstanding say which due is not paid
        "inactive",  # the member is not active
        "office_no_dues",  # the Secretary General's office: no dues, never in good standing
        "not_capital_or_city",  # only capitals and cities stand for the council
        "permanent_member",  # permanent council members do not stand for election
    }
)

_ZERO = Decimal(0)


# --- values -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberFacts:
    """What the rules need to know about a member of the registry."""

    code: str
    kind: Kind
    council: CouncilSeat
    active: bool
    region: Region

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}")
        if self.council not in COUNCIL_SEATS:
            raise ValueError(f"unknown council seat {self.council!r}")
        if self.region not in REGIONS:
            raise ValueError(f"unknown region {self.region!r}")


@dataclass(frozen=True)
class DuesLine:
    """One row of the dues ledger: what a member owed one fund for one year, and paid."""

    year: int
    fund: Fund
    due: Decimal
    paid: Decimal

    def __post_init__(self) -> None:
        if self.fund not in FUNDS:
            raise ValueError(f"unknown fund {self.fund!r}")
        for name in ("due", "paid"):
            amount = getattr(self, name)
            if isinstance(amount, int) and not isinstance(amount, bool):
                amount = Decimal(amount)
                object.__setattr__(self, name, amount)
            if not isinstance(amount, Decimal):
                raise TypeError(f"{name} must be a Decimal, got {type(amount).__name__}")
            if not amount.is_finite() or amount < 0:
                raise ValueError(f"{name} must be a non-negative amount, got {amount}")

    @property
    def outstanding(self) -> Decimal:
        return max(self.due - self.paid, _ZERO)


@dataclass(frozen=True)
class Reason:
    """Why a verdict went the way it did; ``code`` is one of ``REASON_CODES``."""

    code: str
    year: int | None = None
    fund: Fund | None = None
    outstanding: Decimal | None = None


@dataclass(frozen=True)
class Verdict:
    """A yes or no with its reasons: for ``ok`` a single positive reason, otherwise every
    reason that stands in the way, in a stable order."""

    ok: bool
    reasons: tuple[Reason, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.reasons)


# --- R2 good standing and R10 eligibility ---------------------------------------------------


def standing_years(current_year: int, years: int) -> range:
    """The completed years a dues window looks at: ``current_year - years`` up to
    ``current_year - 1``. The current year is never part of it.

    Raises ``ValueError`` when ``years`` is less than 1.
    """
    if years < 1:
        raise ValueError(f"the dues window needs at least one year, got {years}")
    return range(current_year - years, current_year)


def dues_window(dues: Iterable[DuesLine], current_year: int, years: int) -> tuple[DuesLine, ...]:
    """The ledger over the window of ``standing_years``: one line per year and fund, both
    funds every year, in year order then fund order.

    The ledger records every due, so a year with no row for a fund means nothing was due
    to it that year (a line of zeros). Several rows for the same year and fund are added
    up, so an overpayment on one covers another of the same year and fund.
    """
    window = standing_years(current_year, years)
    totals: dict[tuple[int, Fund], tuple[Decimal, Decimal]] = {
        (year, fund): (_ZERO, _ZERO) for year in window for fund in FUNDS
    }
    for line in dues:
        key = (line.year, line.fund)
        if key in totals:
            due, paid = totals[key]
            totals[key] = (due + line.due, paid + line.paid)
    return tuple(
        DuesLine(year=year, fund=fund, due=due, paid=paid)
        for (year, fund), (due, paid) in totals.items()
    )


def _unpaid(dues: Iterable[DuesLine], current_year: int, years: int) -> tuple[Reason, ...]:
    return tuple(
        Reason(code="unpaid", year=line.year, fund=line.fund, outstanding=line.outstanding)
        for line in dues_window(dues, current_year, years)
        if line.outstanding > 0
    )


def good_standing(
    member: MemberFacts,
    dues: Iterable[DuesLine],
    current_year: int,
    years: int = DEFAULT_GOOD_STANDING_YEARS,
) -> Verdict:
    """R2: whether a member is in good standing, that is pays its dues regularly.

    > The resolutions and recommendations of the General Conference will be taken by
    > voting of the absolute majority of the attending active members who meet all
    > membership's conditions and pay regularly their annual membership dues.

    > The recommendations and resolutions of the Administrative Council will be taken by
    > the voting of the absolute majority of the attending members of the Council who meet
    > all membership's conditions of the Administrative Council and pay regularly their
    > annual membership dues.

    Read as: an active capital or city whose dues to both the Organization and the
    Cooperation Fund are fully paid for each of the last ``years`` completed years
    (``GOOD_STANDING_YEARS``, default 3). The current year's dues never count against
    it, and a year with no row for a fund means nothing was due. Only active capitals
    and cities can be in good standing: the Secretary General's office pays no dues and
    is never in good standing (it holds its council vote without dues, see
    ``holds_voting_right``). ``dues`` are the member's own ledger rows.

    Reasons when not in good standing, in this order: ``inactive``, ``office_no_dues``,
    then one ``unpaid`` per year and fund with something outstanding (an inactive
    capital or city also gets its unpaid lines, so the whole picture is shown). In good
    standing: ``paid_up``.
    """
    reasons: list[Reason] = []
    if not member.active:
        reasons.append(Reason(code="inactive"))
    if member.kind == "office":
        reasons.append(Reason(code="office_no_dues"))
        return Verdict(ok=False, reasons=tuple(reasons))
    reasons.extend(_unpaid(dues, current_year, years))
    if reasons:
        return Verdict(ok=False, reasons=tuple(reasons))
    return Verdict(ok=True, reasons=(Reason(code="paid_up"),))


def in_arrears(
    member: MemberFacts,
    dues: Iterable[DuesLine],
    current_year: int,
    years: int = DEFAULT_GOOD_STANDING_YEARS,
) -> bool:
    """R2: an active capital or city that is not in good standing because of unpaid dues.

    > The resolutions and recommendations of the General Conference will be taken by
    > voting of the absolute majority of the attending active members who meet all
    > membership's conditions and pay regularly their annual membership dues.

    Read as: "in arrears" means not in good standing for unpaid dues in the R2 window.
    Inactive members and the Secretary General's office are never in arrears.
    """
    if not member.active or member.kind == "office":
        return False
    return bool(_unpaid(dues, current_year, years))


def council_eligible(member: MemberFacts, dues: Iterable[DuesLine], current_year: int) -> Verdict:
    """R10: whether a member may stand as a candidate for an elected council seat.

    > The active member must pay the membership’s dues to both the Organization and
    > Cooperation Fund, particularly for the last three years at least to accept its
    > nomination for the membership of the Administrative Council of the Organization and
    > Cooperation Fund:

    > Twenty-three active members as maximum to be elected by the General Conference for
    > three- year term, which could be renewed.

    Read as: an active capital or city, not a permanent council member, with every due to
    both funds paid for the last three completed years (``R10_YEARS``, whatever
    ``GOOD_STANDING_YEARS`` says; the current year does not count). A sitting elected
    member may stand again ("could be renewed").

    Reasons when not eligible, in this order: ``inactive``, ``not_capital_or_city``,
    ``permanent_member``, then one ``unpaid`` per year and fund with something
    outstanding (never for the office, which has no dues). Eligible: ``paid_up``.
    """
    reasons: list[Reason] = []
    if not member.active:
        reasons.append(Reason(code="inactive"))
    if member.kind == "office":
        reasons.append(Reason(code="not_capital_or_city"))
    if member.council == "permanent":
        reasons.append(Reason(code="permanent_member"))
    if member.kind != "office":
        reasons.extend(_unpaid(dues, current_year, R10_YEARS))
    if reasons:
        return Verdict(ok=False, reasons=tuple(reasons))
    return Verdict(ok=True, reasons=(Reason(code="paid_up"),))


def holds_voting_right(member: MemberFacts, body: Body, good_standing: bool) -> bool:
    """R2: whether a member holds a voting right in a body.

    > The meeting shall be deemed regular if it is attended by more than half of the
    > active and voting members (absolute majority).

    > Makkah Al-Mukarramah, Al-Madinah Al-Munawarah, Al-Quds Al-Sharief and the
    > Organization's Secretary General as permanent members.

    Read as: in the General Conference, an active capital or city in good standing
    (``good_standing`` is the verdict of ``good_standing``). In the council, the same,
    plus the Secretary General's office, which holds a council vote without dues as a
    permanent member. The office has no seat, so no vote, in the General Conference.

    This does not check that the member sits on the council: see ``council_members`` and
    ``voting_members``.
    """
    _check_body(body)
    if not member.active:
        return False
    if member.kind == "office":
        return body == "council"
    return good_standing


# --- R1 bodies ------------------------------------------------------------------------------


class CouncilOverfull(ValueError):
    """The registry seats more members on the council than the statute allows."""

    def __init__(self, permanent: int, elected: int, host: int) -> None:
        super().__init__(
            f"the council would have {permanent} permanent, {elected} elected and {host} host"
            f" member(s): at most {MAX_PERMANENT_SEATS} permanent, {MAX_ELECTED_SEATS} elected"
            f" and {MAX_COUNCIL_SEATS} in all"
        )
        self.permanent = permanent
        self.elected = elected
        self.host = host


def gc_members(members: Iterable[MemberFacts]) -> tuple[str, ...]:
    """R1: the members of the General Conference, in the order given.

    > The General Conference consists of active members who are the representatives of
    > member capitals and cities.

    Read as: every active capital and city, whatever its dues (dues decide the voting
    right, not the seat). The Secretary General's office sits on the council only.
    """
    return tuple(m.code for m in members if m.active and m.kind != "office")


def council_members(members: Iterable[MemberFacts], host: str | None = None) -> tuple[str, ...]:
    """R1: the members of the Administrative Council.

    > The Administrative Council of the Organization of Islamic Capitals and Cities and
    > Cooperation Fund comprises maximum twenty-eight active members as follows:

    > Makkah Al-Mukarramah, Al-Madinah Al-Munawarah, Al-Quds Al-Sharief and the
    > Organization's Secretary General as permanent members.

    > Twenty-three active members as maximum to be elected by the General Conference for
    > three- year term, which could be renewed.

    > The capital or city, member of the Organization but not member of its elected
    > Administrative Council that is selected to host the General Conference's session.
    > Its membership shall be exclusively for the term of the session in question.

    Read as: the active members the registry marks ``permanent`` or ``elected``, in the
    order given, then ``host`` (the host of a General Conference session that is open
    now) when it is not already on the council. Inactive members hold no seat.

    Raises ``ValueError`` when ``host`` is not an active capital or city among
    ``members``, and ``CouncilOverfull`` (a ``ValueError``) when the registry gives more
    than 4 permanent seats, more than 23 elected seats or more than 28 seats in all: a
    council the statute does not allow cannot compute a quorum, so it is refused rather
    than silently cut.
    """
    everyone = list(members)
    permanent = [m.code for m in everyone if m.active and m.council == "permanent"]
    elected = [m.code for m in everyone if m.active and m.council == "elected"]
    seated = permanent + elected
    extra: list[str] = []
    if host is not None:
        hosting = next((m for m in everyone if m.code == host), None)
        if hosting is None:
            raise ValueError(f"the host {host!r} is not a member")
        if not hosting.active or hosting.kind == "office":
            raise ValueError(f"the host {host!r} is not an active capital or city")
        if host not in seated:
            extra.append(host)
    if (
        len(permanent) > MAX_PERMANENT_SEATS
        or len(elected) > MAX_ELECTED_SEATS
        or len(seated) + len(extra) > MAX_COUNCIL_SEATS
    ):
        raise CouncilOverfull(len(permanent), len(elected), len(extra))
    on_council = set(seated)
    return tuple(m.code for m in everyone if m.code in on_council) + tuple(extra)


def body_members(
    body: Body, members: Iterable[MemberFacts], host: str | None = None
) -> tuple[str, ...]:
    """R1: the members of ``body``: ``gc_members`` or ``council_members`` (``host`` only
    matters for the council)."""
    _check_body(body)
    if body == "gc":
        return gc_members(members)
    return council_members(members, host)


def voting_members(
    body: Body,
    members: Iterable[MemberFacts],
    in_good_standing: Collection[str],
    host: str | None = None,
) -> frozenset[str]:
    """R1 and R2: the members of ``body`` that hold a voting right in it.

    ``in_good_standing`` holds the codes whose ``good_standing`` verdict is ok. Read as
    in ``holds_voting_right``, restricted to the body's members.
    """
    everyone = list(members)
    seated = set(body_members(body, everyone, host))
    return frozenset(
        m.code
        for m in everyone
        if m.code in seated and holds_voting_right(m, body, m.code in in_good_standing)
    )


# --- R3 quorum, R4 postponement -------------------------------------------------------------


@dataclass(frozen=True)
class Quorum:
    """A quorum count: ``attending`` of ``base`` counted, ``needed`` to be quorate."""

    base: int
    needed: int
    attending: int
    quorate: bool

    @property
    def missing(self) -> int:
        """How many more attending members would make the meeting quorate."""
        return max(self.needed - self.attending, 0)


def quorum(base: int, attending: int) -> Quorum:
    """R3: whether ``attending`` is more than half of ``base``.

    > The meeting shall be deemed regular if it is attended by more than half of the
    > active and voting members (absolute majority).

    > The Council meeting is deemed valid if attended by more than one half of its
    > membership (absolute majority).

    Read as: needed = floor(base / 2) + 1, quorate when attending >= needed (the same as
    2 * attending > base). A base of 0 is never quorate: nobody can be more than half of
    nobody, and the meeting is postponed (R4), after which it still needs someone.
    ``base`` and ``attending`` come from ``quorum_base`` and ``quorum_counted``.

    Raises ``ValueError`` for negative counts or more attending than the base.
    """
    if base < 0 or attending < 0:
        raise ValueError("quorum counts cannot be negative")
    if attending > base:
        raise ValueError(f"{attending} attending out of a base of {base}")
    needed = base // 2 + 1
    return Quorum(base=base, needed=needed, attending=attending, quorate=attending >= needed)


def quorum_base(body: Body, body_members: Collection[str], voting: Collection[str]) -> int:
    """R3: what the quorum is counted against.

    > The meeting shall be deemed regular if it is attended by more than half of the
    > active and voting members (absolute majority).

    > The Council meeting is deemed valid if attended by more than one half of its
    > membership (absolute majority).

    Read as: for the General Conference, its members (``gc_members``) that hold a voting
    right (``voting``, see ``voting_members``); for the council, all of its members
    (``council_members``), with or without a voting right.
    """
    _check_body(body)
    seated = set(body_members)
    if body == "gc":
        return len(seated & set(voting))
    return len(seated)


def quorum_counted(
    body: Body,
    attending: Iterable[str],
    body_members: Collection[str],
    voting: Collection[str],
) -> int:
    """R3: how many of the attending members count towards the quorum.

    > The meeting shall be deemed regular if it is attended by more than half of the
    > active and voting members (absolute majority).

    > The Council meeting is deemed valid if attended by more than one half of its
    > membership (absolute majority).

    Read as: in the General Conference, the attending members that hold a voting right;
    in the council every attending member counts, with or without a voting right.
    ``attending`` are member codes (a member attends when any of its delegates has
    checked in; repeated codes count once); codes outside the body are not counted.
    """
    _check_body(body)
    present = set(attending) & set(body_members)
    if body == "gc":
        present &= set(voting)
    return len(present)


def meeting_quorum(
    body: Body,
    attending: Iterable[str],
    body_members: Collection[str],
    voting: Collection[str],
) -> Quorum:
    """R3: ``quorum`` of ``quorum_counted`` against ``quorum_base``, in one call."""
    return quorum(
        quorum_base(body, body_members, voting),
        quorum_counted(body, attending, body_members, voting),
    )


def reconvene_at(called_at: datetime, minutes: float = POSTPONEMENT_MINUTES) -> datetime:
    """R4: when a meeting postponed for want of a quorum reconvenes.

    > In case no absolute majority of active and voting members is attending, the meeting
    > shall be postponed for two hours, after which it would be a regular and valid meeting
    > with the attendance of any active members holding a voting right.

    > In case it is not attended by an absolute majority it shall be postponed for two
    > hours, after which, it is deemed a regular meeting with the attendance of any
    > members of the Council.

    Read as: ``minutes`` (``POSTPONEMENT_MINUTES``, default 120) of elapsed time after the
    quorum was called and not reached, in the time zone of ``called_at``. Elapsed time,
    not wall-clock: across a daylight-saving change two hours are still two hours.

    Raises ``ValueError`` for a naive ``called_at`` or a non-positive ``minutes``.
    """
    if called_at.tzinfo is None or called_at.utcoffset() is None:
        raise ValueError("called_at must be timezone-aware")
    if not math.isfinite(minutes) or minutes <= 0:
        raise ValueError(f"the postponement must be a positive number of minutes, got {minutes}")
    later = called_at.astimezone(UTC) + timedelta(minutes=minutes)
    return later.astimezone(called_at.tzinfo)


def reconvened_valid(body: Body, attending_with_voting_right: int, attending: int) -> bool:
    """R4: whether a meeting that reconvenes after its postponement may proceed.

    > In case no absolute majority of active and voting members is attending, the meeting
    > shall be postponed for two hours, after which it would be a regular and valid meeting
    > with the attendance of any active members holding a voting right.

    > In case it is not attended by an absolute majority it shall be postponed for two
    > hours, after which, it is deemed a regular meeting with the attendance of any
    > members of the Council.

    Read as: the General Conference proceeds with at least one attending member holding
    a voting right, the council with at least one attending council member.

    Raises ``ValueError`` for negative counts or more voting than attending members.
    """
    _check_body(body)
    if attending_with_voting_right < 0 or attending < 0:
        raise ValueError("attendance cannot be negative")
    if attending_with_voting_right > attending:
        raise ValueError("more attending members with a voting right than attending members")
    if body == "gc":
        return attending_with_voting_right >= 1
    return attending >= 1


def quorum_call(q: Quorum, *, reconvened: bool) -> QuorumCall:
    """R3 and R4: what follows when the chair calls the quorum.

    > In case no absolute majority of active and voting members is attending, the meeting
    > shall be postponed for two hours, after which it would be a regular and valid meeting
    > with the attendance of any active members holding a voting right.

    Read as: before any postponement, ``open`` when quorate, else ``postpone`` (once).
    Once the meeting has reconvened (``reconvened``), ``open`` as soon as anyone counted
    by ``quorum_counted`` attends (``reconvened_valid``), else ``inquorate``: there is one
    postponement per meeting, so it is not postponed again.
    """
    if not reconvened:
        return "open" if q.quorate else "postpone"
    return "open" if q.attending >= 1 else "inquorate"


# --- R5, R6 the roll; R7 resolutions --------------------------------------------------------


def voting_roll(
    attending: Iterable[str], body_members: Collection[str], voting: Collection[str]
) -> frozenset[str]:
    """R5 and R6: the members who vote on a question, fixed when the vote opens.

    > Each member has one vote, and votes by proxy are not admitted.

    Read as: the members of the body attending when the vote opens and holding a voting
    right then. A member is on the roll once however many of its delegates attend;
    members arriving later are not added.
    """
    return frozenset(set(attending) & set(body_members) & set(voting))


@dataclass(frozen=True)
class ResolutionResult:
    """The count of a resolution and what follows from it.

    ``threshold`` is the number of yes votes needed (``roll // 2 + 1``). When ``tie`` is
    true and ``tie_broken_by_chair`` false, the chair's vote is not known yet (a secret
    vote) or the chair's member has no vote on the roll: the outcome then stays
    ``rejected``; ``pending_casting_vote`` tells the two apart for a secret vote.
    """

    roll: int
    yes: int
    no: int
    abstain: int
    silent: int
    threshold: int
    outcome: Literal["adopted", "rejected"]
    tie: bool
    tie_broken_by_chair: bool

    @property
    def pending_casting_vote(self) -> bool:
        """A tie that no chair's vote has settled yet."""
        return self.tie and not self.tie_broken_by_chair


def _check_counts(roll: int, yes: int, no: int, abstain: int = 0) -> None:
    if min(roll, yes, no, abstain) < 0:
        raise ValueError("vote counts cannot be negative")
    if yes + no + abstain > roll:
        raise ValueError(f"{yes + no + abstain} votes for a roll of {roll}")


def _is_tie(roll: int, yes: int, no: int) -> bool:
    return roll > 0 and roll % 2 == 0 and yes == no == roll // 2


def resolution_result(
    roll: int, yes: int, no: int, abstain: int, chair_vote: Choice | None = None
) -> ResolutionResult:
    """R7: whether a resolution is adopted.

    > The resolutions and recommendations of the General Conference will be taken by
    > voting of the absolute majority of the attending active members who meet all
    > membership's conditions and pay regularly their annual membership dues.

    > In case of a tie, the vote of the General Conference's chairman prevails.

    > In case of a tie, the vote of the Administrative Council's chairman prevails.

    Read as: adopted when yes > roll / 2 (``roll`` from ``voting_roll``), so abstentions
    and silence count against. A tie is the roll split evenly, yes and no each exactly
    half of it (so nobody abstained or stayed silent); then the chair's vote prevails:
    adopted if the chair's member voted yes, rejected otherwise. Any other count where
    yes is not more than half is rejected without a tie-break; in particular when
    everybody abstains or nobody votes (not a tie).

    ``chair_vote`` is the recorded vote of the chair's member in an open vote. Leave it
    ``None`` for a secret vote (then a tie stays pending: ``needs_chair_casting_vote``
    and ``casting_vote_resolution``) or when the chair's member is not on the roll (a
    tie is then rejected, as nothing makes it prevail).

    Raises ``ValueError`` for negative counts, more votes than the roll, or a
    ``chair_vote`` the counts do not contain.
    """
    _check_counts(roll, yes, no, abstain)
    if chair_vote is not None:
        cast = {"yes": yes, "no": no, "abstain": abstain}.get(chair_vote)
        if cast is None:
            raise ValueError(f"unknown vote {chair_vote!r}")
        if cast == 0:
            raise ValueError(f"the chair's member voted {chair_vote}, but nobody did")
    tie = _is_tie(roll, yes, no)
    broken = tie and chair_vote is not None
    adopted = 2 * yes > roll or (tie and chair_vote == "yes")
    return ResolutionResult(
        roll=roll,
        yes=yes,
        no=no,
        abstain=abstain,
        silent=roll - yes - no - abstain,
        threshold=roll // 2 + 1,
        outcome="adopted" if adopted else "rejected",
        tie=tie,
        tie_broken_by_chair=broken,
    )


def needs_chair_casting_vote(roll: int, yes: int, no: int) -> bool:
    """R7 and R12: whether a secret resolution's count calls for the chair's casting vote.

    > In case of a tie, the vote of the General Conference's chairman prevails.

    Read as: in a secret vote the chair's own ballot is secret like the others, so when
    the count is a tie (see ``resolution_result``) the chair is asked after the count
    and ``casting_vote_resolution`` records the answer openly.
    """
    _check_counts(roll, yes, no)
    return _is_tie(roll, yes, no)


def casting_vote_resolution(
    result: ResolutionResult, chair_choice: Literal["yes", "no"]
) -> ResolutionResult:
    """R7 and R12: a tied secret resolution settled by the chair's casting vote.

    > In case of a tie, the vote of the Administrative Council's chairman prevails.

    Read as: adopted when the chair answers yes, rejected when no; the result records
    ``tie_broken_by_chair``.

    Raises ``ValueError`` when the result is not a tie awaiting the chair's vote.
    """
    if not result.pending_casting_vote:
        raise ValueError("only a tie that no chair's vote has settled takes a casting vote")
    if chair_choice not in ("yes", "no"):
        raise ValueError(f"a casting vote is yes or no, got {chair_choice!r}")
    return replace(
        result,
        outcome="adopted" if chair_choice == "yes" else "rejected",
        tie_broken_by_chair=True,
    )


# --- R8, R9 extraordinary sessions ----------------------------------------------------------


def motion_allowed(kind: SessionKind, item: str, agenda: Collection[str]) -> bool:
    """R8: whether a vote may be opened on ``item`` in a session of ``kind``.

    > The General Conference does not discuss in its extraordinary session any issues
    > other than the ones for which it is convened.

    > In its extraordinary session, the Administrative Council discusses no issues other
    > than those for which it is convened.

    Read as: an extraordinary session refuses anything not on the agenda it was convened
    with. Ordinary sessions vote on agenda items as well (the secretariat may add items
    to an ordinary session's agenda, not to an extraordinary one's), so in both kinds a
    vote is allowed exactly on an item of the agenda.
    """
    if kind not in ("ordinary", "extraordinary"):
        raise ValueError(f"unknown session kind {kind!r}")
    return item in agenda


def extraordinary_request(
    body: Body, signatories: int, requested_by: Requester | None = None
) -> bool:
    """R9: whether a request for an extraordinary session is admissible.

    > It convenes in an ordinary session once every three years and it may convene an
    > extra-ordinary session upon a decision from the Administrative Council or with
    > approval of two thirds of the Organization's active members in response to a request
    > submitted by at least ten active members who regularly pay their annual membership
    > dues and meet all the membership’s conditions.

    > If so required, the Administrative Council may convene in an extraordinary session
    > upon a request of the Organization's Secretary General, the Chairman of the
    > Administrative Council, or in response to a request submitted by at least five
    > members of the Administrative Council and approved by one third of its members.

    Read as: for the General Conference, at least ten signatories, counted as distinct
    active capitals and cities in good standing (the caller counts only those). For the
    council, a request of the Secretary General or of the council's chair
    (``requested_by``), or at least five signatories counted as distinct council
    members. ``requested_by`` is refused for the General Conference.
    """
    _check_body(body)
    if signatories < 0:
        raise ValueError("signatories cannot be negative")
    if requested_by is not None and requested_by not in ("secretary_general", "council_chair"):
        raise ValueError(f"unknown requester {requested_by!r}")
    if body == "gc":
        if requested_by is not None:
            raise ValueError("a General Conference session is requested by its members")
        return signatories >= GC_REQUEST_SIGNATORIES
    return requested_by is not None or signatories >= COUNCIL_REQUEST_SIGNATORIES


def extraordinary_approved(body: Body, approvals: int, active_members: int) -> bool:
    """R9: whether the members' request for an extraordinary session is approved.

    > It convenes in an ordinary session once every three years and it may convene an
    > extra-ordinary session upon a decision from the Administrative Council or with
    > approval of two thirds of the Organization's active members in response to a request
    > submitted by at least ten active members who regularly pay their annual membership
    > dues and meet all the membership’s conditions.

    > If so required, the Administrative Council may convene in an extraordinary session
    > upon a request of the Organization's Secretary General, the Chairman of the
    > Administrative Council, or in response to a request submitted by at least five
    > members of the Administrative Council and approved by one third of its members.

    Read as: for the General Conference, approvals of at least two thirds of all active
    members (``active_members``: every member of ``gc_members``, not the attending roll);
    for the council, at least one third of its members (``active_members``: the size of
    ``council_members``). In integers: 3 * approvals >= 2 * active_members, or
    3 * approvals >= active_members. Nothing is approved without a single approval.

    Raises ``ValueError`` for negative counts or more approvals than members.
    """
    _check_body(body)
    if approvals < 0 or active_members < 0:
        raise ValueError("counts cannot be negative")
    if approvals > active_members:
        raise ValueError(f"{approvals} approvals from {active_members} members")
    share = 2 if body == "gc" else 1
    return approvals >= 1 and 3 * approvals >= share * active_members


def extraordinary_approvals_needed(body: Body, active_members: int) -> int:
    """R9: how many approvals make a members' request approved (``extraordinary_approved``):
    two thirds of the active members for the General Conference, one third of the council's
    members for the council, and never fewer than one."""
    _check_body(body)
    if active_members < 0:
        raise ValueError("counts cannot be negative")
    share = 2 if body == "gc" else 1
    return max(1, -(-share * active_members // 3))


def extraordinary_convened(
    body: Body,
    *,
    signatories: int = 0,
    approvals: int = 0,
    active_members: int = 0,
    requested_by: Requester | None = None,
    council_decision: bool = False,
) -> bool:
    """R9: whether an extraordinary session is to be convened, all paths together.

    Read as: the General Conference on a decision of the council (``council_decision``),
    or on an admissible members' request (``extraordinary_request``) that is approved
    (``extraordinary_approved``). The council on a request of the Secretary General or of
    its chair alone (the one-third approval belongs to the members' request), or on an
    admissible members' request that is approved.
    """
    _check_body(body)
    if body == "gc":
        if council_decision:
            return True
        return extraordinary_request(body, signatories) and extraordinary_approved(
            body, approvals, active_members
        )
    if council_decision:
        raise ValueError("a council decision convenes the General Conference, not the council")
    if requested_by is not None:
        return extraordinary_request(body, signatories, requested_by)
    return extraordinary_request(body, signatories) and extraordinary_approved(
        body, approvals, active_members
    )


# --- R10 council elections ------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A candidate for an elected council seat."""

    code: str
    kind: Kind
    region: Region


@dataclass(frozen=True)
class CouncilElectionResult:
    """The count of a council election.

    ``elected`` in rank order; ``runoff`` the candidates tied for the ``seats_left`` seats
    the tie-breaks could not fill (empty if none); ``vacant`` the seats nobody can fill
    because no other candidate received a vote. Always
    ``len(elected) + seats_left + vacant == seats``.
    """

    tally: dict[str, int]
    elected: tuple[str, ...]
    runoff: tuple[str, ...]
    seats_left: int
    decided_by: Literal["votes", "capital_first", "regional_spread"] | None
    by_region: dict[str, int]
    seats: int = 0
    vacant: int = 0


def council_seats(
    candidates: Sequence[Candidate],
    tally: Mapping[str, int],
    seats: int,
    already_elected: Sequence[Candidate] = (),
) -> CouncilElectionResult:
    """R10: who fills the elected council seats.

    > Twenty-three active members as maximum to be elected by the General Conference for
    > three- year term, which could be renewed.

    > Membership priority must be given to capitals and then cities.

    > The variety of geographical distribution among the elected capitals and cities for
    > the membership of the Administrative Council should be considered.

    Read as: seats go to the most voted. When candidates with equal votes straddle the
    last seat(s), the seats are filled one at a time among them: a capital comes before
    a city; then a candidate from a region (African, Arab, Asian) with fewer seats among
    those already elected, that is the seats this election has filled so far in rank
    order; if still equal, those tied go to a run-off (a further council election among
    them) for the seats left. Candidates of the same kind and region cannot be told
    apart, so the run-off holds every candidate who could take one of those seats under
    some order of the tie, and the seats that go to the same region whatever the order
    are filled (``decided_by`` ``regional_spread``).

    A run-off is a further round of the same election: ``already_elected`` are the
    candidates its earlier rounds elected, in rank order. They count among "those already
    elected" for the regional spread from the start; ``elected`` and ``by_region`` name
    only the seats this round fills.

    A seat goes only to a candidate who received at least one vote: the statute gives
    seats to the most voted, and a candidate nobody voted for has not been chosen. With
    no more voted candidates, the remaining seats stay ``vacant``; with fewer candidates
    than seats, every candidate with a vote is elected.

    ``decided_by``: ``votes`` when votes alone filled the seats (no tie at the cut),
    ``capital_first`` when the priority of capitals settled the tie at the cut,
    ``regional_spread`` when the regional spread was needed and settled it, ``None``
    when a run-off is needed or nobody received a vote. ``tally`` lists every candidate
    in the order given, zero votes included; ``by_region`` counts the elected by region,
    zeros included. Elected candidates with equal votes are ranked capitals first, then
    by the spread order, then in the order given.

    Raises ``ValueError`` when ``seats`` is not 1 to 23, a candidate appears twice or is
    not a capital or city, the tally names somebody who is not a candidate, or a count
    is negative.
    """
    if not 1 <= seats <= MAX_ELECTED_SEATS:
        raise ValueError(f"a council election fills 1 to {MAX_ELECTED_SEATS} seats, not {seats}")
    codes = [c.code for c in candidates]
    if len(set(codes)) != len(codes):
        raise ValueError("a candidate appears twice")
    for c in candidates:
        if c.kind not in ("capital", "city"):
            raise ValueError(f"{c.code} is not a capital or city")
        if c.region not in REGIONS:
            raise ValueError(f"{c.code} has an unknown region {c.region!r}")
    unknown = set(tally) - set(codes)
    if unknown:
        raise ValueError(f"votes for non-candidates: {sorted(unknown)}")
    votes = {code: tally.get(code, 0) for code in codes}
    if any(v < 0 for v in votes.values()):
        raise ValueError("vote counts cannot be negative")
    earlier = [c.code for c in already_elected]
    if len(set(earlier)) != len(earlier) or set(earlier) & set(codes):
        raise ValueError("a candidate already elected is elected once")
    if len(earlier) + seats > MAX_ELECTED_SEATS:
        raise ValueError(f"more than {MAX_ELECTED_SEATS} elected seats")

    counts: dict[Region, int] = dict.fromkeys(REGIONS, 0)
    for c in already_elected:
        if c.region not in REGIONS:
            raise ValueError(f"{c.code} has an unknown region {c.region!r}")
        counts[c.region] += 1
    elected: list[Candidate] = []
    runoff: list[Candidate] = []
    seats_left = 0
    decided_by: Literal["votes", "capital_first", "regional_spread"] | None = "votes"
    remaining = seats

    def elect(group: Sequence[Candidate]) -> None:
        for c in group:
            elected.append(c)
            counts[c.region] += 1

    voted = [c for c in candidates if votes[c.code] > 0]
    for level in sorted({votes[c.code] for c in voted}, reverse=True):
        if remaining == 0:
            break
        group = [c for c in voted if votes[c.code] == level]
        capitals = [c for c in group if c.kind == "capital"]
        cities = [c for c in group if c.kind == "city"]
        if len(group) <= remaining:
            for same_kind in (capitals, cities):
                elect(_spread_order(same_kind, counts))
            remaining -= len(group)
            continue
        # The tie straddles the cut: capitals first, then the regional spread.
        decided_by = "capital_first"
        if len(capitals) < remaining:
            elect(_spread_order(capitals, counts))
            remaining -= len(capitals)
            contenders = cities
        else:
            contenders = capitals
        if len(contenders) > remaining:
            sure, tied, tied_seats = _regional_spread(contenders, remaining, counts)
            if sure:
                decided_by = "regional_spread"
            elect(_spread_order(sure, counts))
            if tied:
                runoff = tied
                seats_left = tied_seats
                decided_by = None
        else:
            elect(_spread_order(contenders, counts))
        break  # the cut is reached: lower votes take no seat
    if not elected and not runoff:
        decided_by = None
    by_region: dict[str, int] = dict.fromkeys(REGIONS, 0)
    for c in elected:
        by_region[c.region] += 1
    in_runoff = {c.code for c in runoff}
    return CouncilElectionResult(
        tally=votes,
        elected=tuple(c.code for c in elected),
        runoff=tuple(code for code in codes if code in in_runoff),
        seats_left=seats_left,
        decided_by=decided_by,
        by_region=by_region,
        seats=seats,
        vacant=seats - len(elected) - seats_left,
    )


def _spread_order(group: Sequence[Candidate], counts: Mapping[Region, int]) -> list[Candidate]:
    """The order in which one seat at a time would go to ``group`` when all of it is
    elected: the region with fewer seats first, then the order given."""
    position: dict[Region, int] = {}
    ranked: list[tuple[int, int, Candidate]] = []
    for index, c in enumerate(group):
        nth = position.get(c.region, 0)
        position[c.region] = nth + 1
        ranked.append((counts[c.region] + nth, index, c))
    return [c for _, _, c in sorted(ranked, key=lambda t: (t[0], t[1]))]


def _regional_spread(
    group: Sequence[Candidate], seats: int, counts: Mapping[Region, int]
) -> tuple[list[Candidate], list[Candidate], int]:
    """Fill ``seats`` (fewer than ``len(group)``) among candidates tied on votes and kind,
    one seat at a time to a region with fewest seats so far.

    Such a seat-by-seat filling raises the regions level by level, like water: whatever
    the order of the ties, every region reaches the highest level ``level`` the seats
    can pay for, and the ``extra`` seats left over go one each to some of the regions
    that could still rise. Returns the candidates elected whatever the order, the
    candidates tied (for the run-off) and the seats they are tied for.
    """
    members: dict[Region, list[Candidate]] = {
        r: [c for c in group if c.region == r] for r in REGIONS
    }

    def filled(level: int) -> int:
        return sum(min(max(level - counts[r], 0), len(members[r])) for r in REGIONS)

    level = 0
    while filled(level + 1) <= seats:
        level += 1
    share = {r: min(max(level - counts[r], 0), len(members[r])) for r in REGIONS}
    extra = seats - sum(share.values())
    rising = {r for r in REGIONS if counts[r] <= level and share[r] < len(members[r])}
    sure: list[Candidate] = []
    tied: list[Candidate] = []
    tied_seats = extra
    for r in REGIONS:
        if r in rising and (extra > 0 or share[r] > 0):
            tied.extend(members[r])
            tied_seats += share[r]
        elif share[r] == len(members[r]):
            sure.extend(members[r])
    sure_set, tied_set = set(sure), set(tied)
    return [c for c in group if c in sure_set], [c for c in group if c in tied_set], tied_seats


# --- R11 single-winner elections ------------------------------------------------------------


@dataclass(frozen=True)
class SingleWinnerResult:
    """The count of one round of a single-winner election.

    ``outcome``: ``elected`` (``elected`` names the winner), ``runoff`` (a further round
    among ``runoff``), or ``tie`` (the final round is tied among ``runoff``; the chair's
    casting vote settles it, see ``settle_with_casting_vote``). ``threshold`` is the
    absolute majority of the roll, which decides the first round only.
    """

    tally: dict[str, int]
    blank: int
    roll: int
    threshold: int
    outcome: Literal["elected", "runoff", "tie"]
    elected: str | None
    runoff: tuple[str, ...]
    round_no: int = 1
    tie_broken_by_chair: bool = False

    @property
    def silent(self) -> int:
        """Members of the roll who did not vote (a blank ballot is a vote)."""
        return self.roll - self.blank - sum(self.tally.values())


def single_winner(
    roll: int,
    tally: Mapping[str, int],
    blank: int,
    round_no: int,
    candidates_order: Sequence[str],
) -> SingleWinnerResult:
    """R11: the result of one round of electing the Secretary General or the council chair.

    > The General Conference elects the Organization's Secretary General for three-year
    > term, which could be renewed.

    > The Administrative Council will be chaired at any ordinary session by one of its
    > members to be elected at the first working session.

    > The resolutions and recommendations of the General Conference will be taken by
    > voting of the absolute majority of the attending active members who meet all
    > membership's conditions and pay regularly their annual membership dues.

    Read as: in round 1 a candidate is elected with an absolute majority of the roll
    (votes > roll / 2; blank ballots and silence count against). Otherwise a second round
    between the two best placed: the leader and every candidate tied for second place,
    or, when several tie for first place, exactly those. Every later round (2, and 3 or
    more after the chair declined a casting vote) is won by the most votes; a tie for
    first place there gives ``tie``, settled by the chair's casting vote. When nobody
    received a vote, every candidate is tied at zero.

    ``candidates_order`` lists the round's candidates in the order they were created;
    ``tally`` and ``runoff`` follow it, zeros included.

    Raises ``ValueError`` for a round below 1, no candidates, a candidate twice, votes
    for somebody not standing, negative counts, or more ballots than the roll.
    """
    if round_no < 1:
        raise ValueError(f"rounds are numbered from 1, got {round_no}")
    order = list(candidates_order)
    if not order:
        raise ValueError("an election needs at least one candidate")
    if len(set(order)) != len(order):
        raise ValueError("a candidate appears twice")
    unknown = set(tally) - set(order)
    if unknown:
        raise ValueError(f"votes for non-candidates: {sorted(unknown)}")
    votes = {code: tally.get(code, 0) for code in order}
    if roll < 0 or blank < 0 or any(v < 0 for v in votes.values()):
        raise ValueError("counts cannot be negative")
    if sum(votes.values()) + blank > roll:
        raise ValueError(f"{sum(votes.values()) + blank} ballots for a roll of {roll}")
    threshold = roll // 2 + 1
    best = max(votes.values())
    first = tuple(code for code in order if votes[code] == best)

    def result(
        outcome: Literal["elected", "runoff", "tie"], runoff: tuple[str, ...]
    ) -> SingleWinnerResult:
        return SingleWinnerResult(
            tally=votes,
            blank=blank,
            roll=roll,
            threshold=threshold,
            outcome=outcome,
            elected=first[0] if outcome == "elected" else None,
            runoff=runoff,
            round_no=round_no,
        )

    if round_no == 1:
        if best >= threshold:
            return result("elected", ())
        if len(first) >= 2:
            return result("runoff", first)
        rest = [v for code, v in votes.items() if code not in first]
        if not rest:
            return result("runoff", first)
        second = max(rest)
        return result("runoff", tuple(code for code in order if votes[code] in (best, second)))
    if len(first) == 1:
        return result("elected", ())
    return result("tie", first)


def settle_with_casting_vote(result: SingleWinnerResult, choice: str | None) -> SingleWinnerResult:
    """R11: a tied final round settled by the chair's casting vote.

    > The Administrative Council will be chaired at any ordinary session by one of its
    > members to be elected at the first working session.

    Read as: the chair names one of the tied candidates, who is elected
    (``tie_broken_by_chair``); when the chair declines (``None``), the tied candidates
    go to a further round (outcome ``runoff``).

    Raises ``ValueError`` when the result is not a tie or ``choice`` is not tied.
    """
    if result.outcome != "tie":
        raise ValueError("only a tied final round takes a casting vote")
    if choice is None:
        return replace(result, outcome="runoff")
    if choice not in result.runoff:
        raise ValueError(f"{choice!r} is not one of the tied candidates")
    return replace(result, outcome="elected", elected=choice, runoff=(), tie_broken_by_chair=True)


# --- R12 ballots ----------------------------------------------------------------------------


def secret_ballot(question: QuestionKind, chair_asked_secret: bool = False) -> bool:
    """R12: whether a question is voted by secret ballot.

    > Each member has one vote, and votes by proxy are not admitted.

    The statute is silent on secrecy; the organization's practice is read as: elections
    (council seats, the Secretary General, the council chair) are always secret; a
    resolution is open, by roll call, unless the chair opens it as secret. Either way a
    member has one ballot on the question, cast for itself.
    """
    if question not in QUESTION_KINDS:
        raise ValueError(f"unknown question kind {question!r}")
    return question != "resolution" or chair_asked_secret


def council_ballot_valid(choices: Collection[str], candidates: Collection[str], seats: int) -> bool:
    """R10 and R12: whether a ballot of a council election may be cast.

    > Twenty-three active members as maximum to be elected by the General Conference for
    > three- year term, which could be renewed.

    Read as: a voter chooses up to ``seats`` distinct candidates of the election; a ballot
    choosing nobody is blank, which is allowed and counts toward turnout.
    """
    chosen = list(choices)
    return (
        len(set(chosen)) == len(chosen) and len(chosen) <= seats and set(chosen) <= set(candidates)
    )


def single_ballot_valid(choice: str | None, candidates: Collection[str]) -> bool:
    """R11 and R12: whether a ballot of a single-winner election may be cast.

    > The General Conference elects the Organization's Secretary General for three-year
    > term, which could be renewed.

    Read as: one candidate of the round, or none (a blank ballot).
    """
    return choice is None or choice in candidates


# --- helpers ------------------------------------------------------------------------------


def _check_body(body: str) -> None:
    if body not in BODIES:
        raise ValueError(f"unknown body {body!r}")


__all__ = [
    "BODIES",
    "COUNCIL_REQUEST_SIGNATORIES",
    "COUNCIL_SEATS",
    "DEFAULT_GOOD_STANDING_YEARS",
    "FUNDS",
    "GC_REQUEST_SIGNATORIES",
    "KINDS",
    "MAX_COUNCIL_SEATS",
    "MAX_ELECTED_SEATS",
    "MAX_PERMANENT_SEATS",
    "POSTPONEMENT_MINUTES",
    "QUESTION_KINDS",
    "R10_YEARS",
    "REASON_CODES",
    "REGIONS",
    "Body",
    "Candidate",
    "Choice",
    "CouncilElectionResult",
    "CouncilOverfull",
    "CouncilSeat",
    "DuesLine",
    "Fund",
    "Kind",
    "MemberFacts",
    "QuestionKind",
    "Quorum",
    "QuorumCall",
    "Reason",
    "Region",
    "Requester",
    "ResolutionResult",
    "SessionKind",
    "SingleWinnerResult",
    "Verdict",
    "body_members",
    "casting_vote_resolution",
    "council_ballot_valid",
    "council_eligible",
    "council_members",
    "council_seats",
    "dues_window",
    "extraordinary_approved",
    "extraordinary_convened",
    "extraordinary_request",
    "gc_members",
    "good_standing",
    "holds_voting_right",
    "in_arrears",
    "meeting_quorum",
    "motion_allowed",
    "needs_chair_casting_vote",
    "quorum",
    "quorum_base",
    "quorum_call",
    "quorum_counted",
    "reconvene_at",
    "reconvened_valid",
    "resolution_result",
    "secret_ballot",
    "settle_with_casting_vote",
    "single_ballot_valid",
    "single_winner",
    "standing_years",
    "voting_members",
    "voting_roll",
]
