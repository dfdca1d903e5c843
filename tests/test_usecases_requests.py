"""R9 through the use cases: who may request an extraordinary session, and when it is
convened (the council paths as the statute puts them)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot import clock, demo
from bot.store import Database
from bot.store import meetings as store_meetings
from bot.usecases import requests as cases

YEAR = clock.now().year
# The demo council: Makkah, Madinah, Al-Quds, the Secretary General, and the elected
# Cairo, Amman, Dakar, Islamabad and Kuala Lumpur: 9 members, one third is 3.
COUNCIL = ["MAKKAH", "MADINAH", "QUDS", "SG", "CAIRO", "AMMAN", "DAKAR", "ISLAMABAD"]


@pytest.fixture
async def db(tmp_path):
    database = await Database(str(tmp_path / "r9.sqlite3")).open()
    await demo.load(database, YEAR, meeting=False)
    await store_meetings.create_meeting(
        database,
        "council",
        "ordinary",
        "Council",
        clock.now() - timedelta(days=30),
        "Asia/Riyadh",
        "AMMAN",  # the council is chaired by Amman
        [],
        actor="test",
    )
    yield database
    await database.close()


def make(db, body, member, *, as_chair=False):
    return cases.make_request(
        db, body, "Budget", member, actor_id=1, as_chair=as_chair, year=YEAR, years=3
    )


def sign(db, request, member, *, signing=True, as_chair=False):
    return cases.take_part(
        db,
        request,
        member,
        signing=signing,
        actor_id=1,
        as_chair=as_chair,
        year=YEAR,
        years=3,
    )


async def test_a_request_of_the_secretary_general_convenes_the_council_by_itself(db):
    made = await make(db, "council", "SG")
    assert made.status == "created"
    assert made.standing.requested_by == "secretary_general" and made.standing.convened


async def test_a_request_of_the_council_chair_convenes_it_by_itself(db):
    made = await make(db, "council", "AMMAN", as_chair=True)
    assert made.standing.requested_by == "council_chair" and made.standing.convened
    # A chair of another member, or a plain delegate of the chairing member: no such path.
    other = await make(db, "council", "CAIRO", as_chair=True)
    assert other.standing.requested_by is None and not other.standing.convened
    plain = await make(db, "council", "AMMAN")
    assert plain.standing.requested_by is None and not plain.standing.convened
    # The chair signing a members' request makes it the chair's request.
    signed = await sign(db, plain.standing.request.id, "AMMAN", as_chair=True)
    assert signed.status == "already_signed"
    signed = await sign(db, other.standing.request.id, "AMMAN", as_chair=True)
    assert signed.standing.requested_by == "council_chair" and signed.standing.convened


async def test_five_council_members_and_one_third_approval(db):
    made = await make(db, "council", "CAIRO")
    request = made.standing.request.id
    for member in ("MAKKAH", "MADINAH", "QUDS"):
        assert not (await sign(db, request, member)).standing.convened
    five = await sign(db, request, "DAKAR")
    assert (five.standing.signers, five.standing.convened) == (5, False)
    assert five.standing.approvals_needed == 3
    for n, member in enumerate(("ISLAMABAD", "QUDS", "CAIRO"), start=1):
        approved = await sign(db, request, member, signing=False)
        assert approved.standing.convened == (n == 3)
    assert (await sign(db, request, "TUNIS")).status == "not_seated"


async def test_a_general_conference_request_has_no_office_path(db):
    made = await make(db, "gc", "CAIRO", as_chair=True)
    assert made.standing.requested_by is None and not made.standing.convened
    assert (await make(db, "gc", "TUNIS")).status == "not_in_good_standing"
    assert (await make(db, "gc", "SG")).status == "not_in_good_standing"


async def test_two_signatures_of_one_member_at_once_are_one(db):
    made = await make(db, "council", "CAIRO")
    request = made.standing.request.id
    for _ in range(3):
        both = await asyncio.gather(sign(db, request, "DAKAR"), sign(db, request, "DAKAR"))
        assert sorted(b.status for b in both) in (
            ["already_signed", "signed"],
            ["already_signed", "already_signed"],
        )
    last = await sign(db, request, "DAKAR", signing=False)
    assert last.standing.signers == 2
