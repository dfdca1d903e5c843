import pytest

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
