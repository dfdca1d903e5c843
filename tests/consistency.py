"""What a closed vote's stored record must always satisfy, read straight from the file.

The tally's total, the ballots (or open votes) counted, the receipts published and the
members recorded as voted are the same number, and name the same ballots.
"""

from __future__ import annotations

import json
import sqlite3


def check_closed_votes(path: str) -> int:
    """Check every closed question of the database at ``path``; returns how many."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT id, kind, secret, result FROM questions WHERE closed_at IS NOT NULL"
            " AND result IS NOT NULL"
        ).fetchall()
        for question, kind, secret, stored in rows:
            check_question(conn, question, kind, bool(secret), json.loads(stored))
        return len(rows)
    finally:
        conn.close()


def check_question(
    conn: sqlite3.Connection, question: int, kind: str, secret: bool, result: dict
) -> None:
    if result.get("outcome") == "withdrawn":
        return
    voted = sorted(
        r[0]
        for r in conn.execute("SELECT member FROM participation WHERE question = ?", (question,))
    )
    ballots = conn.execute(
        "SELECT receipt, choice FROM ballots WHERE question = ?", (question,)
    ).fetchall()
    votes = conn.execute(
        "SELECT member, choice FROM votes WHERE question = ?", (question,)
    ).fetchall()
    where = f"question {question}"
    assert result.get("voted", voted) == voted, where
    if secret:
        assert not votes, where
        assert sorted(result["receipts"]) == sorted(r for r, _ in ballots), where
        choices = [c for _, c in ballots]
    else:
        assert not ballots, where
        assert result.get("receipts", []) == [], where
        assert sorted((v["member"], v["choice"][0]) for v in result["votes"]) == sorted(
            (m, c) for m, c in votes
        ), where
        choices = [c for _, c in votes]
    assert len(choices) == len(voted), where
    tally = result["tally"]
    if kind == "resolution":
        assert sum(tally.values()) == len(choices), where
        for word in ("yes", "no", "abstain"):
            assert tally[word] == sum(1 for c in choices if c == word[0]), where
    else:
        selections = [json.loads(c) for c in choices]
        assert result["turnout"] == len(choices), where
        assert result["blank"] == sum(1 for s in selections if not s), where
        for code, count in tally.items():
            assert count == sum(1 for s in selections if code in s), where
