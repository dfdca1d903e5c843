"""When a vote's reminder is due, and what a deadline may be."""

from datetime import UTC, datetime, timedelta

from bot.usecases.deadlines import reminder_time
from handlers.deadlines import parse_minutes

OPENED = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_the_reminder_comes_its_lead_before_the_deadline():
    deadline = OPENED + timedelta(minutes=30)
    assert reminder_time(OPENED, deadline, 5) == OPENED + timedelta(minutes=25)
    assert reminder_time(OPENED, deadline, 0.5) == deadline - timedelta(seconds=30)


def test_no_automatic_reminder_for_a_vote_shorter_than_the_lead_or_when_turned_off():
    deadline = OPENED + timedelta(minutes=3)
    assert reminder_time(OPENED, deadline, 5) is None
    assert reminder_time(OPENED, deadline, 3) is None
    assert reminder_time(OPENED, deadline, 0) is None


def test_a_deadline_is_a_positive_number_of_minutes_within_a_day():
    assert parse_minutes("15") == 15
    assert parse_minutes("0.5") == 0.5
    assert parse_minutes("2,5") == 2.5
    assert parse_minutes(str(24 * 60)) == 24 * 60
    for bad in ("0", "-5", "1441", "soon", "", "nan", "inf"):
        assert parse_minutes(bad) is None
