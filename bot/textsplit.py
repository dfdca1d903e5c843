"""Fitting texts into Telegram messages."""

from __future__ import annotations

LIMIT = 4096


def split_message(text: str, limit: int = LIMIT) -> list[str]:
    """Split at paragraph, then line boundaries, so that no part exceeds Telegram's limit.

    Our messages put tags within a line, so a cut between lines never splits a tag.
    Length is counted as Telegram counts it: UTF-16 code units of the visible text, bounded
    here by the raw text, which is never shorter.
    """
    if _units(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for paragraph in text.split("\n\n"):
        pieces = [paragraph] if _units(paragraph) <= limit else _hard_split(paragraph, limit)
        for piece in pieces:
            candidate = f"{current}\n\n{piece}" if current else piece
            if _units(candidate) <= limit:
                current = candidate
            else:
                if current:
                    parts.append(current)
                current = piece
    if current:
        parts.append(current)
    return parts


def _hard_split(paragraph: str, limit: int) -> list[str]:
    pieces: list[str] = []
    current = ""
    for line in paragraph.split("\n"):
        while _units(line) > limit:
            cut = limit
            while _units(line[:cut]) > limit:
                cut -= 1
            space = line.rfind(" ", 0, cut)
            cut = space if space > limit // 2 else _safe_cut(line, cut)
            pieces.append(line[:cut])
            line = line[cut:].lstrip(" ")
        candidate = f"{current}\n{line}" if current else line
        if _units(candidate) <= limit:
            current = candidate
        else:
            pieces.append(current)
            current = line
    if current:
        pieces.append(current)
    return pieces


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _safe_cut(line: str, cut: int) -> int:
    """Move a cut back so that it never falls inside an HTML entity or tag."""
    amp, semi = line.rfind("&", 0, cut), line.rfind(";", 0, cut)
    if amp > semi and cut - amp <= 10:
        cut = amp
    lt, gt = line.rfind("<", 0, cut), line.rfind(">", 0, cut)
    if lt > gt:
        cut = lt
    return max(cut, 1)
