"""Result charts: votes per candidate for an election, the count of a resolution against
the majority it needed. PNG bytes, drawn on the server in the reader's language.

matplotlib (3.11 and later) lays text out through libraqm, which joins Arabic letters and
orders a right-to-left line itself: labels are given to it as they are written, never
reshaped or reversed beforehand (that would draw them backwards). Charts in Arabic are
also mirrored: bars grow from the right, labels stand on the right.

The font is matplotlib's own DejaVu Sans, which covers Latin and Arabic, so a chart looks
the same on every machine. Drawing takes a few hundred milliseconds: callers use the
``async`` functions, which draw in a worker thread, and a chart already drawn for the same
result and language is reused.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from bot import i18n
from bot.i18n import t

FONT = "DejaVu Sans"
WIDTH_INCHES, DPI = 7.0, 110
ELECTED, OTHER = "#1b7f3b", "#9aa5b1"
YES, NO, ABSTAIN, SILENT, NEEDED = "#1b7f3b", "#b3261e", "#7a8694", "#c9d1d9", "#1f4e79"

# One figure at a time: matplotlib's font objects are shared and not meant for threads.
_drawing = threading.Lock()


@dataclass(frozen=True)
class Bar:
    label: str
    votes: int
    marked: bool = False


def _plain(text: str) -> str:
    """What a chart draws: no Unicode isolates (the font has no glyph for them)."""
    return i18n.visible(str(text))


def _figure(
    bars: Sequence[Bar],
    colors: Sequence[str],
    title: str,
    axis_label: str,
    language: str,
    needed: tuple[int, str] | None = None,
) -> Figure:
    """A horizontal bar chart, first bar on top; mirrored for a right-to-left language."""
    rtl = language == "ar"
    height = 1.5 + 0.45 * max(len(bars), 1)
    figure = Figure(figsize=(WIDTH_INCHES, height), dpi=DPI)
    axes = figure.subplots()
    positions = list(range(len(bars)))[::-1]
    values = [bar.votes for bar in bars]
    axes.barh(positions, values, color=list(colors))
    with i18n.use_locale(language):
        axes.set_yticks(positions, [_plain(bar.label) for bar in bars], fontfamily=FONT)
        for position, bar in zip(positions, bars, strict=True):
            axes.text(
                bar.votes,
                position,
                f" {i18n.number(bar.votes)} " + ("✓ " if bar.marked else ""),
                va="center",
                ha="right" if rtl else "left",
                fontfamily=FONT,
            )
        # Whole votes only: never 0.5 or 1.5 of a vote.
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.xaxis.set_major_formatter(FuncFormatter(lambda v, _: i18n.number(int(round(v)))))
    top = max([*values, needed[0] if needed else 0, 1])
    axes.set_xlim(0, top * 1.2)
    if needed is not None:
        line = axes.axvline(needed[0], color=NEEDED, linestyle="--", linewidth=1.4)
        legend = axes.legend(
            [line], [_plain(needed[1])], loc="best", frameon=False, markerfirst=not rtl
        )
        for text in legend.get_texts():
            text.set_fontfamily(FONT)
    axes.set_xlabel(_plain(axis_label), fontfamily=FONT)
    axes.set_title(_plain(title), fontfamily=FONT)
    if rtl:
        axes.invert_xaxis()
        axes.yaxis.tick_right()
    hidden = ("top", "left") if rtl else ("top", "right")
    for side in hidden:
        axes.spines[side].set_visible(False)
    figure.tight_layout()
    return figure


def election_figure(language: str, title: str, round_no: int, bars: Sequence[Bar]) -> Figure:
    """Votes per candidate, in the order given; elected candidates marked."""
    with i18n.use_locale(language):
        heading = str(t("{title}, round {round}", title=title, round=i18n.number(round_no)))
        axis = str(t("Votes"))
    colors = [ELECTED if bar.marked else OTHER for bar in bars]
    return _figure(bars, colors, heading, axis, language)


def resolution_figure(
    language: str,
    title: str,
    yes: int,
    no: int,
    abstain: int,
    silent: int,
    needed: int,
) -> Figure:
    """The count of a resolution against the yes votes it needed (R7)."""
    with i18n.use_locale(language):
        bars = [
            Bar(str(t("Yes")), yes),
            Bar(str(t("No")), no),
            # TRANSLATORS: a bar of the result chart: members that abstained.
            Bar(str(t("Abstentions")), abstain),
            # TRANSLATORS: a bar of the result chart: members on the roll that did not vote.
            Bar(str(t("Not voted")), silent),
        ]
        line = str(
            # TRANSLATORS: the dashed line of the result chart; {n} is a number of yes votes.
            i18n.tn("Majority needed: {n} yes vote", "Majority needed: {n} yes votes", needed)
        )
        axis = str(t("Votes"))
    return _figure(bars, [YES, NO, ABSTAIN, SILENT], title, axis, language, (needed, line))


def png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


@lru_cache(maxsize=64)
def _election_png(language: str, title: str, round_no: int, bars: tuple[Bar, ...]) -> bytes:
    with _drawing:
        return png(election_figure(language, title, round_no, bars))


@lru_cache(maxsize=64)
def _resolution_png(language: str, title: str, counts: tuple[int, int, int, int, int]) -> bytes:
    with _drawing:
        return png(resolution_figure(language, title, *counts))


async def election_chart(language: str, title: str, round_no: int, bars: Sequence[Bar]) -> bytes:
    """The election chart as PNG bytes, drawn off the event loop, once per result."""
    return await asyncio.to_thread(_election_png, language, _plain(title), round_no, tuple(bars))


async def resolution_chart(
    language: str, title: str, yes: int, no: int, abstain: int, silent: int, needed: int
) -> bytes:
    """The resolution chart as PNG bytes, drawn off the event loop, once per result."""
    return await asyncio.to_thread(
        _resolution_png, language, _plain(title), (yes, no, abstain, silent, needed)
    )
