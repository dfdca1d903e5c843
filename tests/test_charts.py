"""Charts: what matplotlib draws, read back glyph by glyph, against sequences checked by a
reader of Arabic; whole-number ticks; labels from the catalogs; one drawing per result."""

import asyncio

from matplotlib._text_helpers import layout
from matplotlib.backends.backend_agg import FigureCanvasAgg, get_font
from matplotlib.figure import Figure
from matplotlib.font_manager import findfont
from matplotlib.text import Text

from bot import charts
from bot.charts import Bar

# Glyphs of DejaVu Sans from left to right on the page, as a reader of Arabic expects them.
# "القاهرة": taa marbuta alone (reh does not join forward), reh final, heh initial, alef
# final, qaf medial, lam initial, alef alone: read from the right, alef-lam-qaf-alef-heh-
# reh-taa marbuta.
CAIRO = ["uni0629", "uniFEAE", "uniFEEB", "uniFE8E", "uniFED8", "uniFEDF", "uni0627"]
# "الأصوات": teh alone, alef alone, waw final, sad initial, the lam-alef-hamza ligature, alef.
VOTES = ["uni062A", "uni0627", "uniFEEE", "uniFEBB", "uniFEF7", "uni0627"]
# "الجولة": taa marbuta final, lam initial, waw final, jeem medial, lam initial, alef.
ROUND = ["uniFE94", "uniFEDF", "uniFEEE", "uniFEA0", "uniFEDF", "uni0627"]


def drawn(figure: Figure) -> list[list[str]]:
    """Every visible text of the figure as the glyphs laid out on the page, left to right."""
    FigureCanvasAgg(figure).draw()
    out = []
    for text in figure.findobj(Text):
        if not text.get_visible() or not text.get_text():
            continue
        font = get_font(findfont(text.get_fontproperties()))
        font.set_size(text.get_fontsize(), figure.dpi)
        items = list(layout(text.get_text(), font))
        out.append([font.get_glyph_name(i.glyph_index) for i in sorted(items, key=lambda i: i.x)])
    return out


def contains(glyphs: list[str], part: list[str]) -> bool:
    return any(glyphs[i : i + len(part)] == part for i in range(len(glyphs) - len(part) + 1))


def arabic_election() -> Figure:
    bars = [Bar("القاهرة", 5, True), Bar("Dakar", 3), Bar("عمّان", 0)]
    return charts.election_figure("ar", "انتخاب أعضاء المجلس", 1, bars)


def test_arabic_is_drawn_right_to_left_in_names_title_and_axis_label():
    texts = drawn(arabic_election())
    assert any(glyphs == CAIRO for glyphs in texts), "the candidate's name"
    assert any(glyphs == VOTES for glyphs in texts), "the axis label"
    assert any(contains(glyphs, ROUND) for glyphs in texts), "the title"
    mirrored = [list(reversed(CAIRO))]
    assert not any(contains(glyphs, mirrored[0]) for glyphs in texts)


def test_latin_names_stay_left_to_right_in_an_arabic_chart():
    texts = drawn(arabic_election())
    assert ["D", "a", "k", "a", "r"] in texts


def test_arabic_chart_is_mirrored_and_french_is_not():
    arabic = arabic_election().axes[0]
    assert arabic.xaxis_inverted()
    french = charts.election_figure("fr", "Élection", 1, [Bar("Le Caire", 2)]).axes[0]
    assert not french.xaxis_inverted()


def test_ticks_are_whole_votes():
    figure = charts.election_figure("en", "Council", 1, [Bar("Cairo", 1), Bar("Dakar", 0)])
    FigureCanvasAgg(figure).draw()
    axes = figure.axes[0]
    low, high = sorted(axes.get_xlim())
    ticks = [x for x in axes.get_xticks() if low <= x <= high]
    assert ticks and all(float(x).is_integer() for x in ticks)
    labels = [label.get_text() for label in axes.get_xticklabels() if label.get_text()]
    assert "0.5" not in labels and "1" in labels


def test_resolution_chart_shows_each_count_against_the_majority_needed():
    figure = charts.resolution_figure("fr", "Point 2 : budget", 6, 2, 1, 3, 7)
    FigureCanvasAgg(figure).draw()
    axes = figure.axes[0]
    assert [round(p.get_width()) for p in axes.patches] == [6, 2, 1, 3]
    labels = [label.get_text() for label in axes.get_yticklabels()]
    assert labels == ["Oui", "Non", "Abstentions", "N'ont pas voté"]
    legend = [text.get_text() for text in axes.get_legend().get_texts()]
    assert legend == ["Majorité requise\u00a0: 7 voix pour"]
    assert [line.get_xdata()[0] for line in axes.get_lines()] == [7]


def test_resolution_chart_in_arabic_uses_the_catalog():
    figure = charts.resolution_figure("ar", "البند 2", 6, 2, 1, 3, 7)
    FigureCanvasAgg(figure).draw()
    axes = figure.axes[0]
    labels = [label.get_text() for label in axes.get_yticklabels()]
    assert labels == ["نعم", "لا", "الممتنعون عن التصويت", "لم يصوّتوا"]
    legend = axes.get_legend().get_texts()[0].get_text()
    assert legend == "الأغلبية المطلوبة: 7 أصوات مؤيدة"


def test_a_chart_is_drawn_once_per_result_and_language():
    bars = [Bar("القاهرة", 2, True), Bar("أبوجا", 1)]

    async def both() -> tuple[bytes, bytes, bytes]:
        first = await charts.election_chart("ar", "انتخاب", 1, bars)
        again = await charts.election_chart("ar", "انتخاب", 1, bars)
        french = await charts.election_chart("fr", "Élection", 1, bars)
        return first, again, french

    first, again, french = asyncio.run(both())
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    assert again is first
    assert french != first


def test_resolution_chart_png():
    png = asyncio.run(charts.resolution_chart("en", "Item 1: budget", 3, 1, 0, 1, 3))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
