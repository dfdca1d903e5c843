from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot import invitations
from bot.invitations import Invitation, status

NOW = datetime(2026, 11, 25, tzinfo=UTC)


def make(**changes):
    base = dict(
        id=1,
        member="CAIRO",
        role="delegate",
        expires_at=NOW + timedelta(days=1),
        used_at=None,
        revoked_at=None,
    )
    base.update(changes)
    return Invitation(**base)


def test_status_of_each_state():
    assert status(None, NOW) == "unknown"
    assert status(make(), NOW) == "valid"
    assert status(make(expires_at=NOW), NOW) == "expired"
    assert status(make(used_at=NOW), NOW) == "used"
    assert status(make(revoked_at=NOW), NOW) == "revoked"
    # used wins over everything: the person who used it sees why it is gone
    assert status(make(used_at=NOW, revoked_at=NOW, expires_at=NOW), NOW) == "used"


@given(st.integers(min_value=-(10**6), max_value=10**6))
def test_valid_exactly_before_expiry(seconds):
    invitation = make(expires_at=NOW + timedelta(seconds=seconds))
    assert (status(invitation, NOW) == "valid") == (seconds > 0)


def test_codes_are_fresh_link_safe_and_hashed():
    codes = {invitations.new_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert invitations.looks_like_code(code)
        assert invitations.code_hash(code) != code and len(invitations.code_hash(code)) == 64
    assert invitations.invite_link("oicc_bot", "abc") == "https://t.me/oicc_bot?start=abc"


def test_targets():
    assert invitations.parse_target("cairo", None) == ("CAIRO", "delegate")
    assert invitations.parse_target("cairo", "chair") == ("CAIRO", "chair")
    assert invitations.parse_target("secretariat", None) == (None, "secretariat")
    for member, role in [("cairo", "secretariat"), ("secretariat", "chair"), ("cairo", "king")]:
        try:
            invitations.parse_target(member, role)
        except ValueError:
            continue
        raise AssertionError((member, role))
