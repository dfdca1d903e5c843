"""The statute's rules (bot/rules.py): edge cases first, then properties."""

from __future__ import annotations

import inspect
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import rules
from bot.rules import (
    FUNDS,
    R10_YEARS,
    REASON_CODES,
    REGIONS,
    Candidate,
    CouncilOverfull,
    DuesLine,
    MemberFacts,
    Reason,
    casting_vote_resolution,
    council_ballot_valid,
    council_eligible,
    council_members,
    council_seats,
    dues_window,
    extraordinary_approved,
    extraordinary_convened,
    extraordinary_request,
    gc_members,
    good_standing,
    holds_voting_right,
    in_arrears,
    meeting_quorum,
    motion_allowed,
    needs_chair_casting_vote,
    quorum,
    quorum_base,
    quorum_call,
    quorum_counted,
    reconvene_at,
    reconvened_valid,
    resolution_result,
    secret_ballot,
    settle_with_casting_vote,
    single_ballot_valid,
    single_winner,
    standing_years,
    voting_members,
    voting_roll,
)

YEAR = 2025  # the current year in these tests: the R2 window is 2022-2024


def member(
    code: str = "RABAT",
    kind: rules.Kind = "capital",
    council: rules.CouncilSeat = "none",
    active: bool = True,
    region: rules.Region = "arab",
) -> MemberFacts:
    return MemberFacts(code=code, kind=kind, council=council, active=active, region=region)


def line(year: int, fund: rules.Fund, due: str, paid: str) -> DuesLine:
    return DuesLine(year=year, fund=fund, due=Decimal(due), paid=Decimal(paid))


def paid_up(first: int, last: int, amount: str = "1200") -> list[DuesLine]:
    return [line(y, f, amount, amount) for y in range(first, last + 1) for f in FUNDS]


def unpaid(year: int, fund: rules.Fund, outstanding: str) -> Reason:
    return Reason(code="unpaid", year=year, fund=fund, outstanding=Decimal(outstanding))


# --- the statute is quoted verbatim -----------------------------------------------------


def _statute() -> str | None:
    here = Path(__file__).resolve().parent
    for seeds in (here.parent / "seeds", here.parent.parent / "shared" / "seeds"):
        found = sorted(seeds.glob("003_*.txt")) if seeds.is_dir() else []
        if found:
            return found[0].read_text(encoding="utf-8")
    return None


def _quotes(doc: str) -> list[str]:
    quotes: list[str] = []
    current: list[str] = []
    for raw in doc.splitlines() + [""]:
        text = raw.strip()
        if text.startswith(">"):
            current.append(text[1:].strip())
        elif current:
            quotes.append(" ".join(current))
            current = []
    return quotes


RULE_FUNCTIONS = [
    good_standing,
    in_arrears,
    council_eligible,
    holds_voting_right,
    gc_members,
    council_members,
    quorum,
    quorum_base,
    quorum_counted,
    reconvene_at,
    reconvened_valid,
    quorum_call,
    voting_roll,
    resolution_result,
    needs_chair_casting_vote,
    casting_vote_resolution,
    motion_allowed,
    extraordinary_request,
    extraordinary_approved,
    council_seats,
    single_winner,
    settle_with_casting_vote,
    secret_ballot,
    council_ballot_valid,
    single_ballot_valid,
]


@pytest.mark.parametrize("function", RULE_FUNCTIONS, ids=lambda f: f.__name__)
def test_every_rule_quotes_the_statute_verbatim(function: object) -> None:
    quotes = _quotes(inspect.getdoc(function) or "")
    assert quotes, "the docstring quotes no statute sentence"
    statute = _statute()
    if statute is None:
        pytest.skip("the statute text is not beside the project")
    # Lines of the statute break inside words ("twenty-\neight"): compare without spaces.
    flat = re.sub(r"\s+", "", statute)
    for quote in quotes:
        assert re.sub(r"\s+", "", quote) in flat, quote


# --- R2 good standing -------------------------------------------------------------------


def test_standing_years_are_the_completed_years_before_the_current_one() -> None:
    assert standing_years(YEAR, 3) == range(2022, 2025)
    assert list(standing_years(YEAR, 1)) == [2024]
    with pytest.raises(ValueError):
        standing_years(YEAR, 0)


def test_paid_up_member_is_in_good_standing() -> None:
    verdict = good_standing(member(), paid_up(2022, 2024), YEAR)
    assert verdict.ok
    assert verdict.reasons == (Reason(code="paid_up"),)


def test_current_and_future_years_unpaid_do_not_count() -> None:
    dues = paid_up(2022, 2024) + [
        line(2025, "organization", "1200", "0"),
        line(2025, "cooperation_fund", "300", "0"),
        line(2026, "organization", "1200", "0"),
    ]
    assert good_standing(member(), dues, YEAR).ok
    assert not in_arrears(member(), dues, YEAR)


def test_years_before_the_window_do_not_count() -> None:
    dues = [*paid_up(2022, 2024), line(2021, "organization", "1200", "0")]
    assert good_standing(member(), dues, YEAR).ok


def test_a_year_with_no_row_for_a_fund_means_nothing_was_due() -> None:
    assert good_standing(member(), [], YEAR).ok
    only_org = [line(y, "organization", "500", "500") for y in (2022, 2023, 2024)]
    assert good_standing(member(), only_org, YEAR).ok
    window = dues_window(only_org, YEAR, 3)
    assert [(x.year, x.fund) for x in window] == [(y, f) for y in (2022, 2023, 2024) for f in FUNDS]
    assert all(x.due == 0 and x.paid == 0 for x in window if x.fund == "cooperation_fund")


def test_partial_payment_is_unpaid_with_what_is_outstanding() -> None:
    dues = [*paid_up(2022, 2023), line(2024, "cooperation_fund", "1200", "500.50")]
    verdict = good_standing(member(), dues, YEAR)
    assert not verdict.ok
    assert verdict.reasons == (unpaid(2024, "cooperation_fund", "699.50"),)
    assert in_arrears(member(), dues, YEAR)


def test_unpaid_reasons_come_in_year_then_fund_order() -> None:
    dues = [
        line(2024, "organization", "100", "0"),
        line(2022, "cooperation_fund", "50", "10"),
        line(2022, "organization", "70", "0"),
    ]
    assert good_standing(member(), dues, YEAR).reasons == (
        unpaid(2022, "organization", "70"),
        unpaid(2022, "cooperation_fund", "40"),
        unpaid(2024, "organization", "100"),
    )


def test_overpayment_and_several_rows_for_one_year_and_fund_add_up() -> None:
    dues = [line(2023, "organization", "100", "150"), line(2023, "organization", "50", "0")]
    assert good_standing(member(), dues, YEAR).ok
    dues.append(line(2023, "organization", "1", "0"))
    assert good_standing(member(), dues, YEAR).reasons == (unpaid(2023, "organization", "1"),)


def test_outstanding_never_goes_below_zero() -> None:
    assert line(2024, "organization", "100", "250").outstanding == 0
    assert line(2024, "organization", "100", "25").outstanding == Decimal("75")


def test_dues_line_refuses_bad_amounts_and_funds() -> None:
    with pytest.raises(ValueError):
        line(2024, "organization", "-1", "0")
    with pytest.raises(ValueError):
        line(2024, "organization", "NaN", "0")
    with pytest.raises(TypeError):
        DuesLine(year=2024, fund="organization", due=1.5, paid=Decimal(0))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        DuesLine(year=2024, fund="award", due=Decimal(1), paid=Decimal(0))  # type: ignore[arg-type]
    whole = DuesLine(year=2024, fund="organization", due=5, paid=0)  # type: ignore[arg-type]
    assert isinstance(whole.due, Decimal) and whole.outstanding == Decimal(5)


def test_member_facts_refuse_unknown_values() -> None:
    with pytest.raises(ValueError):
        member(kind="village")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        member(region="european")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        member(council="honorary")  # type: ignore[arg-type]


def test_office_pays_no_dues_and_is_never_in_good_standing() -> None:
    office = member("SG", kind="office", council="permanent")
    verdict = good_standing(office, [line(2024, "organization", "10", "0")], YEAR)
    assert not verdict.ok
    assert verdict.codes == ("office_no_dues",)
    assert not in_arrears(office, [line(2024, "organization", "10", "0")], YEAR)


def test_inactive_member_is_not_in_good_standing_nor_in_arrears() -> None:
    sleeping = member(active=False)
    assert good_standing(sleeping, paid_up(2022, 2024), YEAR).codes == ("inactive",)
    dues = [line(2024, "organization", "10", "0")]
    assert good_standing(sleeping, dues, YEAR).reasons == (
        Reason(code="inactive"),
        unpaid(2024, "organization", "10"),
    )
    assert not in_arrears(sleeping, dues, YEAR)


def test_good_standing_years_setting_changes_r2_but_not_r10() -> None:
    # Unpaid two years ago: outside a one-year window, inside R10's three years.
    dues = [*paid_up(2021, 2024), line(2023, "organization", "10", "0")]
    assert good_standing(member(), dues, YEAR, years=1).ok
    assert not good_standing(member(), dues, YEAR, years=3).ok
    assert not council_eligible(member(), dues, YEAR).ok
    # Unpaid five years ago: inside a five-year window, outside R10's three years.
    dues = [*paid_up(2020, 2024), line(2020, "cooperation_fund", "10", "0")]
    assert not good_standing(member(), dues, YEAR, years=5).ok
    assert in_arrears(member(), dues, YEAR, years=5)
    assert not in_arrears(member(), dues, YEAR, years=3)
    assert council_eligible(member(), dues, YEAR).ok
    assert R10_YEARS == 3


def test_good_standing_needs_a_window_of_at_least_one_year() -> None:
    with pytest.raises(ValueError):
        good_standing(member(), [], YEAR, years=0)


# --- R10 candidate eligibility ------------------------------------------------------------


def test_paid_up_capital_or_city_is_eligible_even_when_already_elected() -> None:
    for kind in ("capital", "city"):
        for seat in ("none", "elected"):
            verdict = council_eligible(member(kind=kind, council=seat), paid_up(2022, 2024), YEAR)
            assert verdict.ok and verdict.codes == ("paid_up",)


def test_council_eligibility_ignores_the_current_year() -> None:
    dues = [*paid_up(2022, 2024), line(2025, "organization", "10", "0")]
    assert council_eligible(member(), dues, YEAR).ok


def test_permanent_members_inactive_members_and_the_office_cannot_stand() -> None:
    makkah = member("MAKKAH", kind="city", council="permanent")
    assert council_eligible(makkah, paid_up(2022, 2024), YEAR).codes == ("permanent_member",)
    office = member("SG", kind="office", council="permanent")
    assert council_eligible(office, [], YEAR).codes == ("not_capital_or_city", "permanent_member")
    sleeping = member(active=False)
    dues = [line(2022, "cooperation_fund", "10", "4")]
    assert council_eligible(sleeping, dues, YEAR).reasons == (
        Reason(code="inactive"),
        unpaid(2022, "cooperation_fund", "6"),
    )


# --- voting right -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "active", "standing", "gc", "council"),
    [
        ("capital", True, True, True, True),
        ("city", True, True, True, True),
        ("capital", True, False, False, False),
        ("city", False, True, False, False),
        ("office", True, False, False, True),
        ("office", True, True, False, True),
        ("office", False, False, False, False),
    ],
)
def test_holds_voting_right(
    kind: rules.Kind, active: bool, standing: bool, gc: bool, council: bool
) -> None:
    facts = member(kind=kind, active=active, council="permanent" if kind == "office" else "none")
    assert holds_voting_right(facts, "gc", standing) is gc
    assert holds_voting_right(facts, "council", standing) is council


def test_holds_voting_right_refuses_an_unknown_body() -> None:
    with pytest.raises(ValueError):
        holds_voting_right(member(), "senate", True)  # type: ignore[arg-type]


# --- R1 bodies --------------------------------------------------------------------------


def registry() -> list[MemberFacts]:
    return [
        member("MAKKAH", kind="city", council="permanent"),
        member("MADINAH", kind="city", council="permanent"),
        member("QUDS", kind="city", council="permanent"),
        member("SG", kind="office", council="permanent"),
        member("RABAT", kind="capital", council="elected", region="arab"),
        member("DAKAR", kind="capital", council="elected", region="african"),
        member("KL", kind="capital", council="elected", active=False, region="asian"),
        member("ISTANBUL", kind="city", council="none", region="asian"),
        member("KANO", kind="city", council="none", active=False, region="african"),
    ]


def test_gc_is_every_active_capital_and_city() -> None:
    assert gc_members(registry()) == ("MAKKAH", "MADINAH", "QUDS", "RABAT", "DAKAR", "ISTANBUL")


def test_council_is_permanent_and_elected_active_members() -> None:
    assert council_members(registry()) == ("MAKKAH", "MADINAH", "QUDS", "SG", "RABAT", "DAKAR")


def test_host_of_an_open_gc_session_joins_the_council_once() -> None:
    assert council_members(registry(), host="ISTANBUL")[-1] == "ISTANBUL"
    assert council_members(registry(), host="RABAT") == council_members(registry())
    assert council_members(registry(), host="MAKKAH") == council_members(registry())


@pytest.mark.parametrize("host", ["NOWHERE", "SG", "KANO"])
def test_host_must_be_an_active_capital_or_city(host: str) -> None:
    with pytest.raises(ValueError):
        council_members(registry(), host=host)


def test_council_of_28_seats_is_allowed_and_more_is_refused() -> None:
    permanent = registry()[:4]
    elected = [member(f"E{i}", council="elected") for i in range(23)]
    full = permanent + elected + [member("HOST")]
    assert len(council_members(full, host="HOST")) == 28
    with pytest.raises(CouncilOverfull):
        council_members(full + [member("E23", council="elected")])
    with pytest.raises(CouncilOverfull):
        council_members([*full, member("MORE", kind="city", council="permanent")])
    # Inactive members hold no seat, so they do not overfill the council.
    assert len(council_members(full + [member("OLD", council="elected", active=False)])) == 27


def test_voting_members_of_each_body() -> None:
    standing = {"MAKKAH", "MADINAH", "RABAT", "ISTANBUL", "KL"}
    assert voting_members("gc", registry(), standing) == {"MAKKAH", "MADINAH", "RABAT", "ISTANBUL"}
    assert voting_members("council", registry(), standing) == {"MAKKAH", "MADINAH", "SG", "RABAT"}
    with_host = voting_members("council", registry(), standing, host="ISTANBUL")
    assert with_host == {"MAKKAH", "MADINAH", "SG", "RABAT", "ISTANBUL"}


# --- R3 quorum ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "attending", "needed", "quorate"),
    [
        (10, 6, 6, True),
        (10, 5, 6, False),  # exactly half is not more than half
        (11, 6, 6, True),
        (11, 5, 6, False),
        (2, 2, 2, True),
        (2, 1, 2, False),
        (1, 1, 1, True),
        (1, 0, 1, False),
        (0, 0, 1, False),  # nobody to count: never quorate
    ],
)
def test_quorum_is_more_than_half(base: int, attending: int, needed: int, quorate: bool) -> None:
    q = quorum(base, attending)
    assert (q.base, q.needed, q.attending, q.quorate) == (base, needed, attending, quorate)
    assert q.missing == max(needed - attending, 0)


@pytest.mark.parametrize(("base", "attending"), [(-1, 0), (3, -1), (3, 4)])
def test_quorum_refuses_impossible_counts(base: int, attending: int) -> None:
    with pytest.raises(ValueError):
        quorum(base, attending)


@given(base=st.integers(0, 500), data=st.data())
@settings(max_examples=200)
def test_quorate_iff_twice_attending_exceeds_base(base: int, data: st.DataObject) -> None:
    attending = data.draw(st.integers(0, base))
    q = quorum(base, attending)
    assert q.quorate is (2 * attending > base)
    assert q.needed == base // 2 + 1
    assert quorum(base, q.needed).quorate if q.needed <= base else base == 0
    if q.needed >= 1 and q.needed - 1 <= base:
        assert not quorum(base, q.needed - 1).quorate


def test_gc_quorum_counts_only_members_holding_a_voting_right() -> None:
    seated = ["A", "B", "C", "D", "E"]
    voting = {"A", "B", "C", "D"}  # E is in arrears
    assert quorum_base("gc", seated, voting) == 4
    attending = ["A", "B", "E", "E", "VISITOR"]
    assert quorum_counted("gc", attending, seated, voting) == 2
    assert not meeting_quorum("gc", attending, seated, voting).quorate
    assert meeting_quorum("gc", [*attending, "C"], seated, voting).quorate


def test_council_quorum_counts_every_attending_member() -> None:
    seated = ["MAKKAH", "SG", "RABAT", "DAKAR"]
    voting = {"MAKKAH", "SG"}  # RABAT and DAKAR are in arrears
    assert quorum_base("council", seated, voting) == 4
    attending = ["RABAT", "DAKAR", "SG", "ISTANBUL"]  # ISTANBUL is not on the council
    assert quorum_counted("council", attending, seated, voting) == 3
    q = meeting_quorum("council", attending, seated, voting)
    assert (q.base, q.needed, q.attending, q.quorate) == (4, 3, 3, True)


# --- R4 postponement ----------------------------------------------------------------------


def test_postponed_two_hours_in_the_callers_time_zone() -> None:
    riyadh = ZoneInfo("Asia/Riyadh")
    called = datetime(2025, 5, 4, 10, 0, tzinfo=riyadh)
    later = reconvene_at(called)
    assert later == datetime(2025, 5, 4, 12, 0, tzinfo=riyadh)
    assert later.tzinfo == riyadh
    assert reconvene_at(called, 0.5) - called == timedelta(seconds=30)
    assert reconvene_at(called, 90.25) - called == timedelta(minutes=90, seconds=15)


def test_postponement_is_elapsed_time_across_a_clock_change() -> None:
    new_york = ZoneInfo("America/New_York")
    called = datetime(2025, 3, 9, 1, 30, tzinfo=new_york)  # clocks go forward at 2:00
    later = reconvene_at(called)
    assert later.astimezone(UTC) - called.astimezone(UTC) == timedelta(hours=2)
    assert (later.hour, later.minute) == (4, 30)


@pytest.mark.parametrize("minutes", [0, -5, float("nan"), float("inf")])
def test_postponement_must_be_positive(minutes: float) -> None:
    with pytest.raises(ValueError):
        reconvene_at(datetime(2025, 1, 1, tzinfo=UTC), minutes)


def test_postponement_needs_an_aware_time() -> None:
    with pytest.raises(ValueError):
        reconvene_at(datetime(2025, 1, 1, 10, 0))


def test_reconvened_meeting_is_valid_with_anyone_counted() -> None:
    assert reconvened_valid("gc", 1, 1)
    assert not reconvened_valid("gc", 0, 5)  # only members without a voting right
    assert reconvened_valid("council", 0, 1)  # any council member
    assert not reconvened_valid("council", 0, 0)
    with pytest.raises(ValueError):
        reconvened_valid("gc", 2, 1)
    with pytest.raises(ValueError):
        reconvened_valid("council", -1, 0)


def test_quorum_call_postpones_once() -> None:
    assert quorum_call(quorum(10, 6), reconvened=False) == "open"
    assert quorum_call(quorum(10, 5), reconvened=False) == "postpone"
    assert quorum_call(quorum(10, 1), reconvened=True) == "open"
    assert quorum_call(quorum(10, 0), reconvened=True) == "inquorate"


# --- R5, R6 the roll ----------------------------------------------------------------------


def test_roll_is_attending_members_of_the_body_holding_a_voting_right() -> None:
    roll = voting_roll(["A", "A", "B", "C", "X"], ["A", "B", "C", "D"], {"A", "C", "D", "X"})
    assert roll == frozenset({"A", "C"})


# --- R7 resolutions -----------------------------------------------------------------------


def test_adopted_with_more_than_half_of_the_roll() -> None:
    r = resolution_result(10, 6, 2, 2, None)
    assert (r.outcome, r.threshold, r.silent, r.tie, r.tie_broken_by_chair) == (
        "adopted",
        6,
        0,
        False,
        False,
    )
    assert resolution_result(11, 6, 0, 0, None).outcome == "adopted"
    assert resolution_result(11, 5, 0, 0, None).outcome == "rejected"


def test_abstentions_and_silence_count_against() -> None:
    r = resolution_result(10, 5, 1, 2, None)
    assert (r.outcome, r.silent, r.tie) == ("rejected", 2, False)


@pytest.mark.parametrize(("chair", "outcome"), [("yes", "adopted"), ("no", "rejected")])
def test_tie_goes_the_way_of_the_chairs_member(chair: rules.Choice, outcome: str) -> None:
    r = resolution_result(10, 5, 5, 0, chair)
    assert (r.outcome, r.tie, r.tie_broken_by_chair) == (outcome, True, True)
    assert not r.pending_casting_vote


def test_tie_without_the_chairs_vote_waits_for_a_casting_vote() -> None:
    r = resolution_result(4, 2, 2, 0, None)
    assert (r.outcome, r.tie, r.tie_broken_by_chair, r.pending_casting_vote) == (
        "rejected",
        True,
        False,
        True,
    )
    assert needs_chair_casting_vote(4, 2, 2)
    adopted = casting_vote_resolution(r, "yes")
    assert (adopted.outcome, adopted.tie_broken_by_chair) == ("adopted", True)
    rejected = casting_vote_resolution(r, "no")
    assert (rejected.outcome, rejected.tie_broken_by_chair) == ("rejected", True)
    with pytest.raises(ValueError):
        casting_vote_resolution(adopted, "no")
    with pytest.raises(ValueError):
        casting_vote_resolution(resolution_result(4, 3, 1, 0), "yes")


def test_everyone_abstaining_or_nobody_voting_is_rejected_and_not_a_tie() -> None:
    for r in (resolution_result(4, 0, 0, 4, "abstain"), resolution_result(4, 0, 0, 0, None)):
        assert (r.outcome, r.tie, r.tie_broken_by_chair) == ("rejected", False, False)
    empty = resolution_result(0, 0, 0, 0, None)
    assert (empty.outcome, empty.tie, empty.threshold) == ("rejected", False, 1)
    assert not needs_chair_casting_vote(0, 0, 0)


def test_equal_yes_and_no_with_abstentions_or_silence_is_not_a_tie() -> None:
    with_abstention = resolution_result(5, 2, 2, 1, "yes")
    assert (with_abstention.outcome, with_abstention.tie) == ("rejected", False)
    assert not with_abstention.tie_broken_by_chair
    with_silence = resolution_result(6, 2, 2, 0, "yes")
    assert (with_silence.outcome, with_silence.tie, with_silence.silent) == ("rejected", False, 2)
    assert not needs_chair_casting_vote(6, 2, 2)
    assert not needs_chair_casting_vote(5, 2, 2)


@pytest.mark.parametrize(
    ("roll", "yes", "no", "abstain", "chair"),
    [
        (-1, 0, 0, 0, None),
        (3, -1, 0, 0, None),
        (3, 2, 2, 0, None),
        (3, 1, 1, 2, None),
        (4, 0, 2, 0, "yes"),  # the chair's member cannot have voted yes
        (4, 2, 0, 0, "abstain"),
    ],
)
def test_resolution_refuses_impossible_counts(
    roll: int, yes: int, no: int, abstain: int, chair: rules.Choice | None
) -> None:
    with pytest.raises(ValueError):
        resolution_result(roll, yes, no, abstain, chair)


@st.composite
def counts(draw: st.DrawFn) -> tuple[int, int, int, int, rules.Choice | None]:
    roll = draw(st.integers(0, 40))
    yes = draw(st.integers(0, roll))
    no = draw(st.integers(0, roll - yes))
    abstain = draw(st.integers(0, roll - yes - no))
    choices: tuple[tuple[rules.Choice, int], ...] = (("yes", yes), ("no", no), ("abstain", abstain))
    cast: list[rules.Choice | None] = [c for c, n in choices if n]
    chair = draw(st.sampled_from([None, *cast]))
    return roll, yes, no, abstain, chair


@given(counts())
@settings(max_examples=300)
def test_adopted_iff_absolute_majority_or_tie_with_chair_yes(
    c: tuple[int, int, int, int, rules.Choice | None],
) -> None:
    roll, yes, no, abstain, chair = c
    r = resolution_result(roll, yes, no, abstain, chair)
    tie = roll > 0 and 2 * yes == roll and 2 * no == roll
    assert r.tie is tie
    assert (r.outcome == "adopted") is (2 * yes > roll or (tie and chair == "yes"))
    assert r.tie_broken_by_chair is (tie and chair is not None)
    assert r.yes + r.no + r.abstain + r.silent == roll
    assert needs_chair_casting_vote(roll, yes, no) is tie


@given(
    ballots=st.lists(st.sampled_from(["yes", "no", "abstain"]), max_size=30),
    silent=st.integers(0, 5),
    data=st.data(),
)
@settings(max_examples=200)
def test_outcome_does_not_depend_on_the_order_of_ballots(
    ballots: list[str], silent: int, data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(ballots))

    def count(sequence: list[str]) -> rules.ResolutionResult:
        n = Counter(sequence)
        return resolution_result(len(sequence) + silent, n["yes"], n["no"], n["abstain"])

    assert count(ballots) == count(shuffled)


# --- R8, R9 extraordinary sessions ------------------------------------------------------


def test_extraordinary_session_refuses_items_off_its_agenda() -> None:
    agenda = ("1", "2")
    assert motion_allowed("extraordinary", "2", agenda)
    assert not motion_allowed("extraordinary", "3", agenda)
    assert not motion_allowed("extraordinary", "1", ())
    assert motion_allowed("ordinary", "1", agenda)
    assert not motion_allowed("ordinary", "9", agenda)
    with pytest.raises(ValueError):
        motion_allowed("emergency", "1", agenda)  # type: ignore[arg-type]


def test_extraordinary_requests() -> None:
    assert extraordinary_request("gc", 10)
    assert not extraordinary_request("gc", 9)
    assert extraordinary_request("council", 5)
    assert not extraordinary_request("council", 4)
    assert extraordinary_request("council", 0, requested_by="secretary_general")
    assert extraordinary_request("council", 0, requested_by="council_chair")
    with pytest.raises(ValueError):
        extraordinary_request("gc", 20, requested_by="secretary_general")
    with pytest.raises(ValueError):
        extraordinary_request("gc", -1)


@pytest.mark.parametrize(
    ("body", "approvals", "members", "approved"),
    [
        ("gc", 20, 30, True),  # two thirds exactly
        ("gc", 19, 30, False),
        ("gc", 7, 10, True),  # 21 >= 20
        ("gc", 6, 10, False),
        ("gc", 0, 0, False),
        ("council", 10, 28, True),  # 30 >= 28
        ("council", 9, 28, False),
        ("council", 9, 27, True),  # one third exactly
        ("council", 0, 0, False),
    ],
)
def test_extraordinary_approval_counts_against_all_members(
    body: rules.Body, approvals: int, members: int, approved: bool
) -> None:
    assert extraordinary_approved(body, approvals, members) is approved


def test_extraordinary_approval_refuses_impossible_counts() -> None:
    with pytest.raises(ValueError):
        extraordinary_approved("gc", 11, 10)
    with pytest.raises(ValueError):
        extraordinary_approved("council", -1, 10)


def test_extraordinary_convened_on_every_path() -> None:
    assert extraordinary_convened("gc", council_decision=True)
    assert extraordinary_convened("gc", signatories=10, approvals=20, active_members=30)
    assert not extraordinary_convened("gc", signatories=9, approvals=30, active_members=30)
    assert not extraordinary_convened("gc", signatories=10, approvals=19, active_members=30)
    assert extraordinary_convened("council", requested_by="council_chair")
    assert extraordinary_convened("council", signatories=5, approvals=10, active_members=28)
    assert not extraordinary_convened("council", signatories=5, approvals=9, active_members=28)
    with pytest.raises(ValueError):
        extraordinary_convened("council", council_decision=True)


# --- R10 council elections ----------------------------------------------------------------


def cand(code: str, kind: rules.Kind = "city", region: rules.Region = "arab") -> Candidate:
    return Candidate(code=code, kind=kind, region=region)


def test_seats_go_to_the_most_voted() -> None:
    cs = [cand("A"), cand("B", region="asian"), cand("C"), cand("D", region="african")]
    r = council_seats(cs, {"A": 9, "B": 7, "C": 5, "D": 1}, 2)
    assert r.elected == ("A", "B")
    assert (r.runoff, r.seats_left, r.vacant, r.decided_by) == ((), 0, 0, "votes")
    assert r.tally == {"A": 9, "B": 7, "C": 5, "D": 1}
    assert r.by_region == {"african": 0, "arab": 1, "asian": 1}


def test_tie_above_the_cut_needs_no_tie_break() -> None:
    cs = [cand("A"), cand("B"), cand("C")]
    r = council_seats(cs, {"A": 5, "B": 5, "C": 1}, 2)
    assert (set(r.elected), r.decided_by, r.runoff) == ({"A", "B"}, "votes", ())


def test_capital_comes_before_a_city() -> None:
    cs = [cand("A"), cand("B", "city"), cand("C", "capital")]
    r = council_seats(cs, {"A": 10, "B": 8, "C": 8}, 2)
    assert (r.elected, r.decided_by, r.runoff) == (("A", "C"), "capital_first", ())


def test_then_a_region_with_fewer_seats_among_those_already_elected() -> None:
    # The example of a tie across the cut: A 10, then B, C and D with 8 for two seats.
    cs = [
        cand("A", "city", "arab"),
        cand("B", "capital", "african"),
        cand("C", "city", "asian"),
        cand("D", "city", "arab"),
    ]
    r = council_seats(cs, {"A": 10, "B": 8, "C": 8, "D": 8}, 3)
    assert r.elected == ("A", "B", "C")
    assert (r.decided_by, r.runoff, r.seats_left) == ("regional_spread", (), 0)
    assert r.by_region == {"african": 1, "arab": 1, "asian": 1}


def test_already_elected_includes_seats_filled_earlier_in_the_same_tie() -> None:
    # B (capital, asian) takes the first tied seat; then C (arab) beats D (asian).
    cs = [cand("B", "capital", "asian"), cand("D", "city", "asian"), cand("C", "city", "arab")]
    r = council_seats(cs, {"B": 3, "C": 3, "D": 3}, 2)
    assert (r.elected, r.decided_by) == (("B", "C"), "regional_spread")


def test_still_equal_goes_to_a_runoff_for_the_seats_left() -> None:
    cs = [cand("A", "city", "arab"), cand("B"), cand("C"), cand("D")]
    r = council_seats(cs, {"A": 10, "B": 8, "C": 8, "D": 8}, 3)
    assert r.elected == ("A",)
    assert (r.runoff, r.seats_left, r.vacant, r.decided_by) == (("B", "C", "D"), 2, 0, None)
    assert r.by_region == {"african": 0, "arab": 1, "asian": 0}


def test_capitals_beyond_the_seats_go_to_the_regional_spread_then_a_runoff() -> None:
    cs = [
        cand("A", "city", "arab"),
        cand("B", "capital", "arab"),
        cand("C", "capital", "asian"),
        cand("D", "capital", "asian"),
        cand("E", "city", "african"),
    ]
    tally = {"A": 10, "B": 8, "C": 8, "D": 8, "E": 8}
    r = council_seats(cs, tally, 2)  # one seat for B, C or D: asian has none yet
    assert (r.elected, r.runoff, r.seats_left, r.decided_by) == (("A",), ("C", "D"), 1, None)
    # Two seats: one goes to C or D, then the other asian and B (arab) are level again.
    r = council_seats(cs, tally, 3)
    assert (r.elected, r.runoff, r.seats_left, r.decided_by) == (("A",), ("B", "C", "D"), 2, None)
    # With D african instead, asian and african are both below arab: C and D take the seats.
    cs[3] = cand("D", "capital", "african")
    r = council_seats(cs, tally, 3)
    assert (r.elected, r.runoff, r.decided_by) == (("A", "C", "D"), (), "regional_spread")


def test_region_sure_of_a_seat_is_elected_while_the_others_go_to_a_runoff() -> None:
    # Two seats, one per region whatever the order: E (african) is in, C or D (asian).
    cs = [cand("C", "city", "asian"), cand("D", "city", "asian"), cand("E", "city", "african")]
    r = council_seats(cs, {"C": 4, "D": 4, "E": 4}, 2)
    assert (r.elected, r.runoff, r.seats_left, r.decided_by) == (("E",), ("C", "D"), 1, None)


def test_equal_votes_at_the_top_are_ranked_capitals_first() -> None:
    cs = [cand("A", "city"), cand("B", "capital")]
    assert council_seats(cs, {"A": 4, "B": 4}, 2).elected == ("B", "A")


def test_fewer_candidates_than_seats_elects_all_with_votes() -> None:
    cs = [cand("A"), cand("B", region="asian")]
    r = council_seats(cs, {"A": 3, "B": 1}, 5)
    assert (r.elected, r.runoff, r.seats_left, r.vacant, r.decided_by) == (
        ("A", "B"),
        (),
        0,
        3,
        "votes",
    )


def test_a_candidate_without_votes_takes_no_seat() -> None:
    cs = [cand("A"), cand("B"), cand("C")]
    r = council_seats(cs, {"A": 2}, 2)
    assert (r.elected, r.vacant, r.runoff) == (("A",), 1, ())
    assert r.tally == {"A": 2, "B": 0, "C": 0}
    nobody = council_seats(cs, {}, 2)
    assert (nobody.elected, nobody.vacant, nobody.decided_by) == ((), 2, None)
    assert nobody.by_region == {"african": 0, "arab": 0, "asian": 0}


@pytest.mark.parametrize("seats", [0, 24, -1])
def test_seats_are_one_to_twenty_three(seats: int) -> None:
    with pytest.raises(ValueError):
        council_seats([cand("A")], {"A": 1}, seats)


def test_council_seats_refuses_bad_input() -> None:
    with pytest.raises(ValueError):
        council_seats([cand("A"), cand("A")], {}, 1)
    with pytest.raises(ValueError):
        council_seats([cand("A")], {"Z": 1}, 1)
    with pytest.raises(ValueError):
        council_seats([cand("A")], {"A": -1}, 1)
    with pytest.raises(ValueError):
        council_seats([cand("SG", "office")], {}, 1)


def _possible_outcomes(
    candidates: list[Candidate], tally: dict[str, int], seats: int
) -> set[frozenset[str]]:
    """Every set of winners the seat-by-seat reading can give, trying each tied choice."""
    voted = tuple(c for c in candidates if tally.get(c.code, 0) > 0)

    @cache
    def fill(elected: frozenset[str]) -> frozenset[frozenset[str]]:
        pool = [c for c in voted if c.code not in elected]
        if len(elected) == seats or not pool:
            return frozenset({elected})
        regions = Counter(c.region for c in candidates if c.code in elected)

        def key(c: Candidate) -> tuple[int, bool, int]:
            return (tally[c.code], c.kind == "capital", -regions[c.region])

        best = max(key(c) for c in pool)
        return frozenset().union(*(fill(elected | {c.code}) for c in pool if key(c) == best))

    return set(fill(frozenset()))


@st.composite
def council_elections(draw: st.DrawFn) -> tuple[list[Candidate], dict[str, int], int]:
    n = draw(st.integers(1, 8))
    candidates = [
        Candidate(
            code=f"M{i}",
            kind=draw(st.sampled_from(["capital", "city"])),
            region=draw(st.sampled_from(REGIONS)),
        )
        for i in range(n)
    ]
    tally = {c.code: draw(st.integers(0, 3)) for c in candidates}
    seats = draw(st.integers(1, min(23, n + 2)))
    return candidates, tally, seats


@given(council_elections())
@settings(max_examples=300, deadline=None)
def test_council_seats_properties(election: tuple[list[Candidate], dict[str, int], int]) -> None:
    candidates, tally, seats = election
    r = council_seats(candidates, tally, seats)
    voted = [c.code for c in candidates if tally[c.code] > 0]
    assert list(r.tally) == [c.code for c in candidates]
    assert len(r.elected) + r.seats_left == min(seats, len(voted))
    assert len(r.elected) + r.seats_left + r.vacant == seats
    assert sum(r.by_region.values()) == len(r.elected)
    assert set(r.by_region) == set(REGIONS)
    assert not set(r.elected) & set(r.runoff)
    assert len(set(r.elected)) == len(r.elected)
    others = [c for c in r.tally if c not in r.elected and c not in r.runoff]
    for winner in r.elected:
        assert all(r.tally[winner] >= r.tally[other] for other in others)
        assert all(r.tally[winner] >= r.tally[tied] for tied in r.runoff)
    if r.runoff:
        assert len(r.runoff) > r.seats_left > 0
        assert len({r.tally[c] for c in r.runoff}) == 1
        assert r.decided_by is None
    else:
        assert r.seats_left == 0
    # Against every order the tie-breaks allow, one seat at a time: the elected are those
    # who win in every order, the run-off those who win in some orders only.
    outcomes = _possible_outcomes(candidates, tally, seats)
    always = frozenset.intersection(*outcomes)
    sometimes = frozenset.union(*outcomes) - always
    assert set(r.elected) == always
    assert set(r.runoff) == sometimes


# --- R11 single-winner elections ----------------------------------------------------------


def test_first_round_is_won_with_an_absolute_majority_of_the_roll() -> None:
    r = single_winner(10, {"A": 6, "B": 3}, 1, 1, ["A", "B"])
    assert (r.outcome, r.elected, r.runoff, r.threshold) == ("elected", "A", (), 6)


def test_half_the_roll_is_not_a_majority_and_blank_ballots_count_against() -> None:
    r = single_winner(10, {"A": 5}, 5, 1, ["A", "B"])
    assert (r.outcome, r.elected, r.runoff) == ("runoff", None, ("A", "B"))
    assert r.tally == {"A": 5, "B": 0}
    assert r.silent == 0


def test_second_round_between_the_two_best_placed_with_ties_for_second() -> None:
    r = single_winner(12, {"A": 4, "B": 2, "C": 3, "D": 3}, 0, 1, ["A", "B", "C", "D"])
    assert (r.outcome, r.runoff) == ("runoff", ("A", "C", "D"))
    r = single_winner(12, {"A": 4, "B": 3, "C": 1}, 0, 1, ["A", "B", "C"])
    assert r.runoff == ("A", "B")


def test_tie_for_first_place_sends_exactly_those_to_the_second_round() -> None:
    r = single_winner(12, {"A": 4, "B": 4, "C": 4, "D": 0}, 0, 1, ["D", "C", "B", "A"])
    assert (r.outcome, r.runoff) == ("runoff", ("C", "B", "A"))


def test_single_candidate_without_majority_goes_to_a_second_round() -> None:
    assert single_winner(10, {"A": 4}, 3, 1, ["A"]).runoff == ("A",)


def test_second_round_is_won_by_most_votes() -> None:
    r = single_winner(10, {"A": 3, "B": 2}, 5, 2, ["A", "B"])
    assert (r.outcome, r.elected, r.round_no) == ("elected", "A", 2)


def test_final_round_tie_is_settled_by_the_chair() -> None:
    r = single_winner(10, {"A": 4, "B": 4, "C": 1}, 1, 2, ["B", "A", "C"])
    assert (r.outcome, r.elected, r.runoff) == ("tie", None, ("B", "A"))
    chosen = settle_with_casting_vote(r, "A")
    assert (chosen.outcome, chosen.elected, chosen.runoff, chosen.tie_broken_by_chair) == (
        "elected",
        "A",
        (),
        True,
    )
    declined = settle_with_casting_vote(r, None)
    assert (declined.outcome, declined.runoff, declined.tie_broken_by_chair) == (
        "runoff",
        ("B", "A"),
        False,
    )
    with pytest.raises(ValueError):
        settle_with_casting_vote(r, "C")
    with pytest.raises(ValueError):
        settle_with_casting_vote(chosen, "A")


def test_nobody_voting_in_a_final_round_ties_everybody() -> None:
    r = single_winner(6, {}, 6, 3, ["A", "B"])
    assert (r.outcome, r.runoff) == ("tie", ("A", "B"))


@pytest.mark.parametrize(
    ("roll", "tally", "blank", "round_no", "order"),
    [
        (10, {"A": 1}, 0, 0, ["A"]),
        (10, {}, 0, 1, []),
        (10, {"A": 1}, 0, 1, ["A", "A"]),
        (10, {"Z": 1}, 0, 1, ["A"]),
        (10, {"A": -1}, 0, 1, ["A"]),
        (10, {"A": 6}, 5, 1, ["A"]),
        (10, {"A": 1}, -1, 1, ["A"]),
    ],
)
def test_single_winner_refuses_impossible_counts(
    roll: int, tally: dict[str, int], blank: int, round_no: int, order: list[str]
) -> None:
    with pytest.raises(ValueError):
        single_winner(roll, tally, blank, round_no, order)


@st.composite
def single_rounds(draw: st.DrawFn) -> tuple[int, dict[str, int], int, int, list[str]]:
    order = [f"P{i}" for i in range(draw(st.integers(1, 5)))]
    tally = {code: draw(st.integers(0, 6)) for code in order}
    blank = draw(st.integers(0, 4))
    roll = sum(tally.values()) + blank + draw(st.integers(0, 4))
    return roll, tally, blank, draw(st.integers(1, 3)), order


@given(single_rounds())
@settings(max_examples=200)
def test_single_winner_properties(c: tuple[int, dict[str, int], int, int, list[str]]) -> None:
    roll, tally, blank, round_no, order = c
    r = single_winner(roll, tally, blank, round_no, order)
    best = max(tally.values())
    assert list(r.tally) == order
    if r.outcome == "elected":
        assert r.elected is not None and r.runoff == ()
        assert all(tally[r.elected] > v for k, v in tally.items() if k != r.elected)
        if round_no == 1:
            assert 2 * tally[r.elected] > roll
    else:
        assert r.elected is None
        assert list(r.runoff) == [k for k in order if k in r.runoff]
        assert {k for k in order if tally[k] == best} <= set(r.runoff)
    if round_no == 1:
        assert r.outcome != "tie"
        assert (r.outcome == "elected") is (2 * best > roll)
    else:
        assert r.outcome != "runoff"


# --- R12 ballots --------------------------------------------------------------------------


def test_elections_are_always_secret_and_resolutions_open_unless_asked() -> None:
    assert secret_ballot("council_election") and secret_ballot("single_election")
    assert secret_ballot("single_election", chair_asked_secret=False)
    assert not secret_ballot("resolution")
    assert secret_ballot("resolution", chair_asked_secret=True)
    with pytest.raises(ValueError):
        secret_ballot("referendum")  # type: ignore[arg-type]


def test_council_ballot_chooses_up_to_the_open_seats() -> None:
    candidates = ["A", "B", "C"]
    assert council_ballot_valid([], candidates, 2)  # blank
    assert council_ballot_valid(["A", "C"], candidates, 2)
    assert not council_ballot_valid(["A", "B", "C"], candidates, 2)
    assert not council_ballot_valid(["A", "A"], candidates, 2)
    assert not council_ballot_valid(["Z"], candidates, 2)


def test_single_ballot_is_one_candidate_or_blank() -> None:
    assert single_ballot_valid(None, ["A", "B"])
    assert single_ballot_valid("B", ["A", "B"])
    assert not single_ballot_valid("C", ["A", "B"])


# --- R2 properties --------------------------------------------------------------------------

amounts = st.integers(0, 500_000).map(lambda cents: Decimal(cents) / 100)
ledgers = st.lists(
    st.builds(
        DuesLine,
        year=st.integers(2018, 2027),
        fund=st.sampled_from(FUNDS),
        due=amounts,
        paid=amounts,
    ),
    max_size=12,
)


@given(dues=ledgers, years=st.integers(1, 6), data=st.data())
@settings(max_examples=200)
def test_paying_more_never_loses_good_standing(
    dues: list[DuesLine], years: int, data: st.DataObject
) -> None:
    before = good_standing(member(), dues, YEAR, years)
    assert set(before.codes) <= REASON_CODES
    assert before.ok is (not in_arrears(member(), dues, YEAR, years))
    if not dues:
        assert before.ok
        return
    i = data.draw(st.integers(0, len(dues) - 1))
    more = data.draw(amounts)
    paid_more = list(dues)
    paid_more[i] = DuesLine(dues[i].year, dues[i].fund, dues[i].due, dues[i].paid + more)
    after = good_standing(member(), paid_more, YEAR, years)
    assert after.ok or not before.ok
    assert len(after.reasons) <= len(before.reasons) or before.ok


@given(dues=ledgers, years=st.integers(1, 6))
@settings(max_examples=200)
def test_good_standing_looks_only_at_the_window(dues: list[DuesLine], years: int) -> None:
    window = standing_years(YEAR, years)
    inside = [d for d in dues if d.year in window]
    assert good_standing(member(), dues, YEAR, years) == good_standing(
        member(), inside, YEAR, years
    )
    assert good_standing(member(), dues, YEAR, years).ok is all(
        d.outstanding == 0 for d in dues_window(dues, YEAR, years)
    )
    verdict = council_eligible(member(), dues, YEAR)
    assert set(verdict.codes) <= REASON_CODES
    assert verdict == council_eligible(member(), [d for d in dues if YEAR - 3 <= d.year], YEAR)


# --- R10 run-offs: the seats earlier rounds of the same election filled ------------------


def test_runoff_counts_the_regions_earlier_rounds_filled() -> None:
    # Round 1: A (arab) is elected; B (arab), C and D (asian) tie for the two seats left.
    first = council_seats(
        [
            cand("A", "city", "arab"),
            cand("B", "city", "arab"),
            cand("C", "city", "asian"),
            cand("D", "city", "asian"),
        ],
        {"A": 10, "B": 8, "C": 8, "D": 8},
        3,
    )
    assert (first.elected, first.runoff, first.seats_left) == (("A",), ("B", "C", "D"), 2)
    # The run-off: D leads and takes a seat (asian 1); B and C tie for the last one.
    runoff = [cand("B", "city", "arab"), cand("C", "city", "asian"), cand("D", "city", "asian")]
    tally = {"B": 3, "C": 3, "D": 5}
    r = council_seats(runoff, tally, 2, already_elected=[cand("A", "city", "arab")])
    # Arab already has A: the two regions are level, so still a run-off between B and C.
    assert (r.elected, r.runoff, r.seats_left, r.decided_by) == (("D",), ("B", "C"), 1, None)
    assert r.by_region == {"african": 0, "arab": 0, "asian": 1}  # this round's seats
    # Forgetting round 1 would give the seat to B, as if arab had none.
    forgetful = council_seats(runoff, tally, 2)
    assert (forgetful.elected, forgetful.decided_by) == (("D", "B"), "regional_spread")


def test_already_elected_is_checked() -> None:
    with pytest.raises(ValueError):
        council_seats([cand("A")], {"A": 1}, 1, already_elected=[cand("A")])
    with pytest.raises(ValueError):
        council_seats([cand("A")], {"A": 1}, 1, already_elected=[cand("B"), cand("B")])
    with pytest.raises(ValueError):
        earlier = [cand(f"E{n}") for n in range(23)]
        council_seats([cand("A")], {"A": 1}, 1, already_elected=earlier)


_regions = st.sampled_from(rules.REGIONS)


@given(
    st.lists(st.tuples(_regions, st.sampled_from(["capital", "city"])), min_size=2, max_size=7),
    st.lists(_regions, max_size=6),
    st.integers(min_value=1, max_value=6),
    st.integers(min_value=1, max_value=4),
)
@settings(max_examples=200, deadline=None)
def test_runoff_with_earlier_seats_in_a_region_gives_it_no_more(
    shape, earlier_regions, seats, votes
) -> None:
    # Every candidate tied on votes: only kind and the regional spread can decide.
    cs = [Candidate(f"C{n}", kind, region) for n, (region, kind) in enumerate(shape)]  # type: ignore[arg-type]
    seats = min(seats, len(cs))
    tally = {c.code: votes for c in cs}
    earlier = [Candidate(f"E{n}", "city", r) for n, r in enumerate(earlier_regions)]
    plain = council_seats(cs, tally, seats)
    counted = council_seats(cs, tally, seats, already_elected=earlier)
    for result in (plain, counted):
        assert len(result.elected) + result.seats_left + result.vacant == seats
        assert not set(result.elected) & set(result.runoff)
    # Capitals still come first whatever was elected before.
    capitals = [c.code for c in cs if c.kind == "capital"]
    if len(capitals) <= seats:
        assert set(capitals) <= set(counted.elected)
    # One more earlier seat for a region never gives that region more sure seats now.
    for region in rules.REGIONS:
        more = council_seats(
            cs, tally, seats, already_elected=[*earlier, Candidate("X", "city", region)]
        )
        by_region = {c.code: c.region for c in cs}
        won = sum(by_region[code] == region for code in more.elected)
        before = sum(by_region[code] == region for code in counted.elected)
        assert won <= before


# --- R9: the approvals a members' request needs ------------------------------------------


@given(st.sampled_from(["gc", "council"]), st.integers(min_value=0, max_value=200))
@settings(max_examples=200, deadline=None)
def test_approvals_needed_is_the_least_count_approved(body, members) -> None:
    needed = rules.extraordinary_approvals_needed(body, members)
    if needed <= members:
        assert extraordinary_approved(body, needed, members)
    if 1 <= needed - 1 <= members:
        assert not extraordinary_approved(body, needed - 1, members)


def test_council_paths_of_r9() -> None:
    # The Secretary General or the council chair: convened on the request alone.
    for requester in ("secretary_general", "council_chair"):
        assert extraordinary_convened("council", requested_by=requester, active_members=9)
        assert extraordinary_convened(
            "council", signatories=1, approvals=0, active_members=9, requested_by=requester
        )
    # Five council members, approved by one third of the council.
    assert extraordinary_convened("council", signatories=5, approvals=3, active_members=9)
    assert not extraordinary_convened("council", signatories=5, approvals=2, active_members=9)
    assert not extraordinary_convened("council", signatories=4, approvals=9, active_members=9)
    assert rules.extraordinary_approvals_needed("council", 9) == 3
    assert rules.extraordinary_approvals_needed("council", 28) == 10
    assert rules.extraordinary_approvals_needed("gc", 15) == 10
    with pytest.raises(ValueError):
        extraordinary_request("gc", 10, "secretary_general")
