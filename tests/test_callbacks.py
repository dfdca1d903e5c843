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
