from bot import i18n, usertext


def test_problem_names_the_character():
    assert usertext.problem("Al-Quds Al-Sharief") is None
    assert usertext.problem("القدس الشريف") is None
    assert usertext.problem("Rabat\n• Tunis") == "contains a line break"
    assert (
        usertext.problem("Rabat\u2069\u202e") == "contains the invisible direction control U+2069"
    )
    assert usertext.problem("Ra\x00bat") == "contains the control character U+0000"
    assert usertext.problem("Tab\there") == "contains the control character U+0009"


def test_shown_without_breaks_and_controls():
    assert usertext.shown("Rabat\n• Tunis: No") == "Rabat • Tunis: No"
    assert usertext.shown("one\r\ntwo", lines=True) == "one\ntwo"
    assert usertext.shown("a\u202eb\u200fc\x07d\te") == "abcd e"
    # the isolate around a placeholder cannot be closed from inside
    text = i18n.t("Welcome, {name}.", name="Dakar\u2069\u202e")
    assert text.count("\u2068") == text.count("\u2069") == 1 and "\u202e" not in text
    assert i18n.escape("x\ny") == "x y" and i18n.escape("x\ny", lines=True) == "x\ny"
