"""Text that people type or import (member names, titles, agenda items, requests): what it
may contain, and how it is shown.

Such text is shown inside the bot's own sentences. A line break in a name would fabricate
lines (a vote that was never cast in an open-vote result), and an invisible direction
control (U+202E, or U+2069 closing the isolate the name is wrapped in) would reorder the
rest of the sentence. Imports refuse them with the line and the reason; whatever reaches a
message anyway is shown without them.
"""

from __future__ import annotations

import unicodedata

# Explicit embeddings and overrides, isolates, the implicit marks, and the Arabic letter mark.
DIRECTION_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
)
LINE_BREAKS = frozenset("\r\n\u0085\u2028\u2029")


def _control(char: str) -> bool:
    return char in DIRECTION_CONTROLS or unicodedata.category(char) == "Cc"


def problem(text: str) -> str | None:
    """Why ``text`` cannot be a name, a title or an agenda text; None when it can."""
    for char in text:
        if char in LINE_BREAKS:
            return "contains a line break"
        if char in DIRECTION_CONTROLS:
            return f"contains the invisible direction control U+{ord(char):04X}"
        if _control(char):
            return f"contains the control character U+{ord(char):04X}"
    return None


def shown(text: str, *, lines: bool = False) -> str:
    """``text`` as it may be shown: without direction controls and control characters;
    line breaks become spaces unless ``lines`` (the paragraphs of a notice)."""
    kept: list[str] = []
    for char in text.replace("\r\n", "\n"):
        if char in LINE_BREAKS:
            kept.append("\n" if lines else " ")
        elif char == "\t":
            kept.append(" ")
        elif not _control(char):
            kept.append(char)
    return "".join(kept)
