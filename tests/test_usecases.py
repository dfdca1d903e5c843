"""Use cases under competition: each decision is one transaction, so two people acting at
the same moment make two decisions one after the other, never a mixture.

Competing calls run at once many times (bounded), and deterministically with a pause held
inside the first transaction (``bot.usecases.hold_at``). Some run on a second connection
to the same file, as the CLI would, so SQLite's own locking is exercised as well.
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
from datetime import timedelta

import pytest

from bot import clock, demo, outbox
from bot.store import Database, people
from bot.store import elections as store_elections
from bot.store import meetings as store
from bot.store.elections import CandidateEntry
from bot.store.meetings import AgendaItem
from bot.usecases import hold_at, votes
from bot.usecases import meetings as meeting_cases
from tests.consistency import check_closed_votes

YEAR = clock.now().year
YEARS = 3
CHAIR = "CAIRO"
VOTING = [
    "MAKKAH",
    "MADINAH",
    "QUDS",
    "CAIRO",
    "AMMAN",
    "RABAT",
    "DAKAR",
    "ABUJA",
    "KANO",
    "ISLAMABAD",
    "KUALALUMPUR",
    "ISTANBUL",
]
AGENDA = [AgendaItem(str(n), f"Item {n}", f"Point {n}", f"البند {n}") for n in range(1, 30)]


async def plain_ballot(db, question, meeting, recipient):
    return outbox.Outgoing(
        recipient.telegram_id, recipient.language, f"ballot {question.id}", member=recipient.member
    )


def postponed_notice(meeting, state, until):
    return "postponed"


class Held:
    """Holds a transaction open at a checkpoint until released."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.reached = asyncio.Event()
        self.release = asyncio.Event()

    async def __aenter__(self) -> Held:
        async def hold() -> None:
            hold_at(self.name, None)  # only the first transaction is held
            self.reached.set()
            await self.release.wait()

        hold_at(self.name, hold)
        return self

    async def __aexit__(self, *exc: object) -> None:
        hold_at(self.name, None)
        self.release.set()


@pytest.fixture
async def session(tmp_path):
    """The demo registry, a General Conference in session with every voting member
    attending, a delegate account per member (ids 1000...), and a second connection to
    the same file (``other``) as another process would have."""
    path = str(tmp_path / "bot.sqlite3")
    db = await Database(path).open()
    other = await Database(path).open()
    await demo.load(db, YEAR, meeting=False)
    meeting = await store.create_meeting(
        db,
        "gc",
        "ordinary",
        "Session",
        clock.now() - timedelta(minutes=1),
        "Asia/Riyadh",
        CHAIR,
        AGENDA,
        actor="test",
    )
    for n, code in enumerate(VOTING):
        issued = await people.issue_invitation(
            db, "bot", code, "chair" if code == CHAIR else "delegate", actor="test"
        )
        await people.redeem(db, issued.code, 1000 + n, code, None, clock.now())
        await meeting_cases.set_presence(
            db, meeting, code, True, actor_id=1000 + n, year=YEAR, years=YEARS
        )
    called = await call_quorum(db, meeting)
    assert called.status == "opened"
    yield Session(db, other, meeting, path)
    check_closed_votes(path)
    await other.close()
    await db.close()


class Session:
    def __init__(self, db: Database, other: Database, meeting: int, path: str) -> None:
        self.db, self.other, self.meeting, self.path = db, other, meeting, path
        self.items = iter(range(1, 30))

    async def motion(self, secret: bool = True) -> int:
        opened = await votes.open_resolution(
            self.db,
            self.meeting,
            str(next(self.items)),
            secret=secret,
            actor_id=1003,
            year=YEAR,
            years=YEARS,
            ballot=plain_ballot,
        )
        assert opened.status == "opened" and opened.question is not None
        return opened.question.id

    def cast(self, question: int, member: str, choice, db: Database | None = None):
        return votes.cast(
            db or self.db, question, member, choice, cast_by=1000 + VOTING.index(member)
        )

    def close(self, db: Database | None = None):
        return votes.close_question(db or self.db, self.meeting, actor_id=1003)


async def call_quorum(db: Database, meeting: int):
    return await meeting_cases.call_quorum(
        db,
        meeting,
        actor_id=1003,
        year=YEAR,
        years=YEARS,
        postponement_minutes=120,
        postponed_notice=postponed_notice,
    )


def counted(closed: votes.Closed) -> dict:
    assert closed.question is not None and closed.question.result is not None
    return closed.question.result


# --- close against confirmations ---------------------------------------------------------


async def test_a_vote_held_open_is_counted_by_the_close_that_waits_for_it(session):
    question = await session.motion()
    async with Held("cast") as held:
        casting = asyncio.create_task(session.cast(question, "AMMAN", "y"))
        await held.reached.wait()
        closing = asyncio.create_task(session.close(session.other))
        await asyncio.sleep(0)  # the close is now waiting for the vote's transaction
        held.release.set()
        cast_ = await casting
        closed = await closing
    assert cast_.recorded and cast_.receipt
    result = counted(closed)
    assert result["receipts"] == [cast_.receipt] and result["tally"]["yes"] == 1


async def test_a_vote_arriving_while_the_close_is_decided_is_refused(session):
    question = await session.motion()
    early = await session.cast(question, "RABAT", "n")
    async with Held("close") as held:
        closing = asyncio.create_task(session.close())
        await held.reached.wait()
        late = [
            asyncio.create_task(session.cast(question, "AMMAN", "y", session.other)),
            asyncio.create_task(session.cast(question, "DAKAR", "y")),
        ]
        await asyncio.sleep(0)
        held.release.set()
        closed = await closing
        refused = await asyncio.gather(*late)
    assert [r.status for r in refused] == ["closed", "closed"]
    assert all(r.receipt is None for r in refused)
    result = counted(closed)
    assert result["receipts"] == [early.receipt]
    assert result["tally"] == {"yes": 0, "no": 1, "abstain": 0}
    assert result["voted"] == ["RABAT"]


@pytest.mark.parametrize("secret", [True, False])
async def test_close_racing_confirmations_counts_exactly_the_acknowledged(session, secret):
    rng = random.Random(9)
    for _ in range(6):
        question = await session.motion(secret)

        async def confirm(member: str, question: int = question) -> votes.CastResult:
            await asyncio.sleep(rng.random() * 0.01)
            db = session.other if rng.random() < 0.5 else session.db
            return await session.cast(question, member, rng.choice("yna"), db)

        async def close() -> votes.Closed:
            await asyncio.sleep(rng.random() * 0.01)
            return await session.close(session.other if rng.random() < 0.5 else session.db)

        *casts, closed = await asyncio.gather(*(confirm(m) for m in VOTING), close())
        result = counted(closed)
        recorded = [c for c in casts if c.recorded]
        assert all(c.status == "closed" for c in casts if not c.recorded)
        assert sum(result["tally"].values()) == len(recorded)
        assert len(result["voted"]) == len(recorded)
        if secret:
            assert sorted(result["receipts"]) == sorted(c.receipt for c in recorded)
        check_closed_votes(session.path)


async def test_two_closes_at_once_are_one_decision(session):
    for _ in range(4):
        question = await session.motion()
        await session.cast(question, "AMMAN", "y")
        first, second = await asyncio.gather(session.close(), session.close(session.other))
        assert sorted([first.status, second.status]) == ["closed", "none_open"]
    async with Held("close") as held:
        question = await session.motion()
        closing = asyncio.create_task(session.close())
        await held.reached.wait()
        again = asyncio.create_task(session.close(session.other))
        held.release.set()
        assert (await closing).status == "closed"
        assert (await again).status == "none_open"
    rows = await session.db.all("SELECT count(*) FROM audit_log WHERE action = 'vote_closed'")
    assert rows[0][0] == 5


# --- forged choices ----------------------------------------------------------------------


async def election(session: Session, kind: str = "single", seats: int = 1) -> int:
    entries = [CandidateEntry("AMMAN", None), CandidateEntry("RABAT", None)]
    if kind == "council":
        entries.append(CandidateEntry("DAKAR", None))
    election_id = await store_elections.create_election(
        session.db, session.meeting, kind, "Election", seats, entries, actor="test"
    )
    opened = await votes.open_election_round(
        session.db,
        session.meeting,
        election_id,
        actor_id=1003,
        year=YEAR,
        years=YEARS,
        ballot=plain_ballot,
    )
    assert opened.status == "opened" and opened.question is not None
    return opened.question.id


async def test_a_choice_its_question_does_not_offer_changes_nothing(session):
    question = await election(session, "council", 2)
    for forged in ("y", "n", ["AMMAN", "AMMAN"], ["AMMAN", "RABAT", "DAKAR"], ["CAIRO"]):
        refused = await session.cast(question, "KANO", forged)
        assert refused.status == "invalid" and refused.receipt is None
    assert await store.voted(session.db, question) == []
    # The database refuses it too, whoever writes.
    for choice in ("y", '["AMMAN","AMMAN"]', '["CAIRO"]', '["AMMAN","RABAT","DAKAR"]', "[1]", "x"):
        with pytest.raises(sqlite3.IntegrityError):
            async with session.db.transaction() as tx:
                await tx.execute(
                    "INSERT INTO ballots (question, receipt, choice) VALUES (?, 'R', ?)",
                    (question, choice),
                )
    assert (await session.cast(question, "KANO", ["RABAT", "AMMAN"])).recorded
    assert (await session.close()).status == "closed"
    resolution = await session.motion(secret=False)
    for forged in (["AMMAN"], [], "x", "yes"):
        assert (await session.cast(resolution, "KANO", forged)).status == "invalid"
    with pytest.raises(sqlite3.IntegrityError):
        async with session.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO participation (question, member) VALUES (?, 'KANO')", (resolution,)
            )
            await tx.execute(
                "INSERT INTO votes (question, member, choice) VALUES (?, 'KANO', '[]')",
                (resolution,),
            )
    assert await store.voted(session.db, resolution) == []
    assert (await session.cast(resolution, "KANO", "a")).recorded
    assert (await session.close()).status == "closed"


# --- the quorum call ---------------------------------------------------------------------


async def test_two_quorum_calls_at_once_are_one_decision(tmp_path):
    path = str(tmp_path / "q.sqlite3")
    db = await Database(path).open()
    other = await Database(path).open()
    await demo.load(db, YEAR, meeting=False)
    try:
        for round_ in range(4):
            meeting = await store.create_meeting(
                db,
                "gc",
                "ordinary",
                f"S{round_}",
                clock.now() - timedelta(minutes=1),
                "Asia/Riyadh",
                CHAIR,
                AGENDA,
                actor="test",
            )
            if round_ < 3:
                calls = await asyncio.gather(call_quorum(db, meeting), call_quorum(other, meeting))
            else:
                async with Held("call_quorum") as held:
                    first = asyncio.create_task(call_quorum(db, meeting))
                    await held.reached.wait()
                    second = asyncio.create_task(call_quorum(other, meeting))
                    held.release.set()
                    calls = [await first, await second]
            assert sorted(c.status for c in calls) == ["postponed", "postponed_already"]
            until = {c.postponed_until for c in calls}
            assert len(until) == 1  # the second call reports the first one's time
            notices = await db.all(
                "SELECT count(*) FROM notices WHERE kind = 'postponed' AND ref = ?",
                (f"meeting:{meeting}",),
            )
            assert notices[0][0] == 1
    finally:
        await other.close()
        await db.close()


# --- opening -----------------------------------------------------------------------------


async def test_opening_writes_the_roll_and_every_ballot_or_nothing(session):
    class Boom(Exception):
        pass

    async def fail() -> None:
        raise Boom

    hold_at("open", fail)
    try:
        with pytest.raises(Boom):
            await session.motion()
    finally:
        hold_at("open", None)
    assert await store.open_question_of(session.db, session.meeting) is None
    assert (await session.db.one("SELECT count(*) FROM roll"))[0] == 0
    question = await session.motion()
    rows = await session.db.all(
        "SELECT o.member FROM outbox o JOIN notices n ON n.id = o.notice WHERE n.ref = ?",
        (f"q:{question}",),
    )
    assert sorted(r[0] for r in rows) == sorted(await store.roll_of(session.db, question))
    await session.close()


async def test_an_election_round_opened_twice_at_once_is_opened_once(session):
    entries = [CandidateEntry("AMMAN", None), CandidateEntry("RABAT", None)]
    election_id = await store_elections.create_election(
        session.db, session.meeting, "single", "Election", 1, entries, actor="test"
    )

    def open_round(db: Database):
        return votes.open_election_round(
            db,
            session.meeting,
            election_id,
            actor_id=1003,
            year=YEAR,
            years=YEARS,
            ballot=plain_ballot,
        )

    opened = await asyncio.gather(open_round(session.db), open_round(session.other))
    assert sorted(o.status for o in opened) == ["already_open", "opened"]
    # A tie between the two: a run-off round, opened once even with a pause held.
    question = next(o.question.id for o in opened if o.question)
    await session.cast(question, "KANO", ["AMMAN"])
    await session.cast(question, "DAKAR", ["RABAT"])
    assert counted(await session.close()).get("outcome") == "runoff"
    async with Held("open") as held:
        first = asyncio.create_task(open_round(session.db))
        await held.reached.wait()
        second = asyncio.create_task(open_round(session.other))
        held.release.set()
        statuses = [(await first).status, (await second).status]
    assert statuses == ["opened", "already_open"]
    rounds = await store.election_rounds(session.db, election_id)
    assert [q.round for q in rounds] == [1, 2]
    await session.close()


# --- the casting vote and the announcement -----------------------------------------------


async def tied_secret_resolution(session: Session) -> int:
    question = await session.motion(secret=True)
    for member in VOTING[:6]:
        await session.cast(question, member, "y")
    for member in VOTING[6:]:
        await session.cast(question, member, "n")
    closed = await session.close()
    assert closed.pending
    return question


async def test_two_chair_delegates_casting_at_once_give_one_casting_vote(session):
    for n in range(3):
        question = await tied_secret_resolution(session)
        first, second = ("y", "n") if n % 2 else ("n", "y")
        given = await asyncio.gather(
            votes.casting_vote(session.db, question, first, chair_member=CHAIR, actor_id=1003),
            votes.casting_vote(session.other, question, second, chair_member=CHAIR, actor_id=1),
        )
        assert sorted(g.status for g in given) == ["already_given", "settled"]
        settled = next(g for g in given if g.status == "settled")
        fresh = await store.get_question(session.db, question)
        assert fresh.result["casting_vote"] == settled.question.result["casting_vote"]
    question = await tied_secret_resolution(session)
    async with Held("casting_vote") as held:
        first = asyncio.create_task(
            votes.casting_vote(session.db, question, "y", chair_member=CHAIR, actor_id=1003)
        )
        await held.reached.wait()
        second = asyncio.create_task(
            votes.casting_vote(session.other, question, "n", chair_member=CHAIR, actor_id=1)
        )
        held.release.set()
        assert (await first).status == "settled"
        assert (await second).status == "already_given"
    assert (await store.get_question(session.db, question)).outcome == "adopted"


async def test_a_casting_vote_without_a_pending_tie_changes_nothing(session):
    question = await session.motion(secret=True)
    await session.cast(question, "AMMAN", "y")
    for choice in ("y", "n", "0", "d"):
        given = await votes.casting_vote(
            session.db, question, choice, chair_member=CHAIR, actor_id=1003
        )
        assert given.status == "invalid"  # still open: nothing is tied yet
    await session.close()
    before = await store.get_question(session.db, question)
    for choice in ("y", "n", "d"):
        given = await votes.casting_vote(
            session.db, question, choice, chair_member=CHAIR, actor_id=1003
        )
        assert given.status == "invalid"
    tied = await tied_secret_resolution(session)
    for member, choice in (("AMMAN", "y"), (CHAIR, "0"), (CHAIR, "d")):
        given = await votes.casting_vote(
            session.db, tied, choice, chair_member=member, actor_id=1003
        )
        assert given.status == "invalid"
    assert await store.get_question(session.db, question) == before
    assert (await store.get_question(session.db, tied)).outcome == "pending"


async def test_two_announcements_at_once_are_one(session):
    announcement = votes.Announcement(
        {lang: f"result {lang}" for lang in ("ar", "en", "fr")}, {}, {}
    )

    def announce(db: Database, question: int):
        return votes.announce(db, question, announcement, actor_id=1003, year=YEAR, years=YEARS)

    for n in range(3):
        question = await session.motion(secret=False)
        await session.cast(question, "AMMAN", "y")
        await session.close()
        if n < 2:
            done = await asyncio.gather(
                announce(session.db, question), announce(session.other, question)
            )
        else:
            async with Held("announce") as held:
                first = asyncio.create_task(announce(session.db, question))
                await held.reached.wait()
                second = asyncio.create_task(announce(session.other, question))
                held.release.set()
                done = [await first, await second]
        assert sorted(a.status for a in done) == ["already_announced", "announced"]
        notices = await session.db.all(
            "SELECT count(*) FROM notices WHERE ref = ?", (f"result:{question}",)
        )
        assert notices[0][0] == 1
        entries = await session.db.all(
            "SELECT details FROM audit_log WHERE action = 'result_announced'"
        )
        assert sum(json.loads(e[0])["question"] == question for e in entries) == 1


# --- R10: a run-off counts the seats earlier rounds filled -------------------------------


async def test_a_council_runoff_counts_the_regions_earlier_rounds_filled(session):
    entries = [CandidateEntry(c, None) for c in ("AMMAN", "RABAT", "ISLAMABAD", "KUALALUMPUR")]
    election_id = await store_elections.create_election(
        session.db, session.meeting, "council", "Council", 3, entries, actor="test"
    )

    async def round_(plan: dict[str, list[str]]) -> dict:
        opened = await votes.open_election_round(
            session.db,
            session.meeting,
            election_id,
            actor_id=1003,
            year=YEAR,
            years=YEARS,
            ballot=plain_ballot,
        )
        assert opened.status == "opened"
        voters = iter(VOTING)
        for choice, times in plan.items():
            for _ in range(times):
                assert (await session.cast(opened.question.id, next(voters), [choice])).recorded
        return counted(await session.close())

    first = await round_({"AMMAN": 3, "RABAT": 2, "ISLAMABAD": 2, "KUALALUMPUR": 2})
    assert first["elected"] == ["AMMAN"]
    assert (first["runoff"], first["seats_left"]) == (["RABAT", "ISLAMABAD", "KUALALUMPUR"], 2)
    # Kuala Lumpur leads the run-off; Rabat and Islamabad tie for the last seat. Amman
    # (arab) was elected in round 1, so the arab and asian regions are level: no seat by
    # regional spread, a further run-off between the two.
    second = await round_({"KUALALUMPUR": 3, "RABAT": 2, "ISLAMABAD": 2})
    assert second["elected_before"] == ["AMMAN"]
    assert second["elected"] == ["KUALALUMPUR"]
    assert (second["runoff"], second["seats_left"], second["outcome"]) == (
        ["RABAT", "ISLAMABAD"],
        1,
        "runoff",
    )
    third = await round_({"ISLAMABAD": 1})
    assert third["elected_before"] == ["AMMAN", "KUALALUMPUR"]
    assert (third["elected"], third["outcome"]) == (["ISLAMABAD"], "elected")
    decided = await votes.open_election_round(
        session.db,
        session.meeting,
        election_id,
        actor_id=1003,
        year=YEAR,
        years=YEARS,
        ballot=plain_ballot,
    )
    assert decided.status == "decided"
