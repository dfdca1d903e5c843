from hypothesis import given
from hypothesis import strategies as st

from bot import callbacks


def test_round_trip():
    data = callbacks.make("v", 12, "yes")
    assert callbacks.parse(data) == callbacks.Callback("v", ("12", "yes"))


def test_forged_shapes_are_refused():
    for data in ["", "v", "v:1", "v:1:yes:x", "zz:1:2", "lang:", "lang:e n", "v:1:<b>", "x" * 65]:
        assert callbacks.parse(data) is None


@given(st.text(max_size=80))
def test_parse_never_raises_and_accepts_only_known_shapes(data):
    parsed = callbacks.parse(data)
    if parsed is not None:
        assert parsed.kind in callbacks.KINDS
        assert len(parsed.args) == callbacks.KINDS[parsed.kind]
        assert len(data.encode()) <= 64


def test_parse_id_refuses_what_cannot_be_an_id():
    from bot.callbacks import LARGEST_ID, parse_id

    assert parse_id("42") == 42 and parse_id(" 7 ") == 7 and parse_id("٤٢") == 42
    assert parse_id(str(LARGEST_ID)) == LARGEST_ID
    for bad in (None, "", "0", "-3", "4.2", "²", "9" * 30, str(LARGEST_ID + 1)):
        assert parse_id(bad) is None, bad
