import html

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.textsplit import split_message


def units(text):
    return len(text.encode("utf-16-le")) // 2


def test_short_text_is_one_part():
    assert split_message("hello") == ["hello"]


def test_splits_at_paragraphs():
    paragraphs = ["x" * 3000, "y" * 3000, "z" * 10]
    parts = split_message("\n\n".join(paragraphs))
    assert parts == ["x" * 3000, "y" * 3000 + "\n\n" + "z" * 10]


@settings(max_examples=60, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(["a", " ", "\n", "&", "<", "é", "😀", "ب"]),
        min_size=1,
        max_size=12000,
    )
)
def test_parts_fit_keep_all_text_and_never_cut_an_entity(raw):
    escaped = html.escape(raw, quote=False)
    parts = split_message(escaped)
    assert all(units(p) <= 4096 for p in parts)
    for part in parts:
        # every '&' still starts a complete entity
        for index, char in enumerate(part):
            if char == "&":
                assert part[index:].startswith(("&amp;", "&lt;", "&gt;"))
    assert "".join(parts).replace("\n", "").replace(" ", "") == escaped.replace("\n", "").replace(
        " ", ""
    )
