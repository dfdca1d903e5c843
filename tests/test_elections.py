import struct

import pytest

from bot import elections
from bot.elections import CandidateProblem, parse_candidates, parse_mask, selection


def test_candidates_members_and_people():
    assert [c.code for c in parse_candidates("cairo, AMMAN", people=False)] == ["CAIRO", "AMMAN"]
    people = parse_candidates("A=Ahmed Ali,B=بشرى النجار", people=True)
    assert [(c.code, c.name) for c in people] == [("A", "Ahmed Ali"), ("B", "بشرى النجار")]
    for text, people_ in (("A,A", False), ("A", True), ("", False), ("a b", False)):
        with pytest.raises(CandidateProblem):
            parse_candidates(text, people_)


def test_masks_name_only_the_round_candidates():
    candidates = ["A", "B", "C"]
    assert selection(0b101, candidates) == ["A", "C"]
    assert parse_mask("5", candidates) == 5
    assert parse_mask("8", candidates) is None  # a fourth candidate
    assert parse_mask("zz", candidates) is None
    assert parse_mask("-1", candidates) is None


def test_arabic_labels_are_shaped_for_drawing():
    shaped = elections._shape("القاهرة")
    assert any("\ufe70" <= ch <= "\ufeff" for ch in shaped)  # contextual presentation forms
    assert elections._shape("Dakar") == "Dakar"


def test_chart_is_a_png_with_a_bar_per_candidate():
    png = elections.chart(
        ["القاهرة", "Dakar", "عمّان"], [5, 3, 0], [True, False, False], "انتخاب المجلس", "الأصوات"
    )
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width == 770 and height > 150
