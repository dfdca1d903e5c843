"""A whole session through the rehearsal page, as people click it, in headless Chromium.

What is asserted is what the page shows: texts (taken from the catalogs of each phone's
language), the direction of Arabic text, the buttons, the chart image.
"""

from __future__ import annotations

import html
import re
from typing import Any

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from bot import i18n
from bot.botapi.server import visible
from bot.demo import AGENDA, MEMBERS_CSV

NAMES = {
    row.split(",")[0]: dict(zip(("en", "fr", "ar"), row.split(",")[1:4], strict=True))
    for row in MEMBERS_CSV.strip().splitlines()[1:]
}
AGENDA_ITEM_AR = AGENDA[0][3]


def tr(language: str, message: str, **params: Any) -> str:
    """What a reader of ``language`` sees for a catalog message: tags and marks removed."""
    with i18n.use_locale(language):
        text = str(i18n.t(message, **params))
    return visible(html.unescape(re.sub(r"<[^>]+>", "", text)))


class Page:
    def __init__(self, driver: Any, url: str) -> None:
        self.driver = driver
        driver.get(url)
        self.wait(
            lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "yes"
        )

    def wait(self, condition: Any, timeout: float = 30.0, message: str = "") -> Any:
        # The page redraws a message when the bot edits it: a stale element is looked up again.
        return WebDriverWait(
            self.driver,
            timeout,
            poll_frequency=0.05,
            ignored_exceptions=(StaleElementReferenceException,),
        ).until(condition, message)

    def phone(self, key: str) -> WebElement:
        """The phone of a member's delegate, or of the secretariat."""
        if key == "secretariat":
            return self.driver.find_element(By.CSS_SELECTOR, '.phone[data-role="secretariat"]')
        return self.driver.find_element(By.CSS_SELECTOR, f'.phone[data-member="{key}"]')

    def language(self, key: str) -> str:
        return str(self.phone(key).get_attribute("data-language"))

    def bot_messages(self, key: str) -> list[WebElement]:
        return self.phone(key).find_elements(By.CSS_SELECTOR, ".msg.in")

    def text(self, message: WebElement) -> str:
        found = message.find_elements(By.CSS_SELECTOR, ".text")
        return visible(found[0].text) if found else ""

    def rtl(self, message: WebElement) -> bool:
        element = message.find_element(By.CSS_SELECTOR, ".text")
        return bool(self.driver.execute_script("return arguments[0].matches(':dir(rtl)')", element))

    def type(self, key: str, text: str) -> None:
        box = self.phone(key).find_element(By.CSS_SELECTOR, ".compose input")
        box.send_keys(text, Keys.ENTER)

    def from_menu(self, key: str, command: str) -> None:
        self.phone(key).find_element(By.CSS_SELECTOR, ".menu-button").click()
        item = f'.menu button[data-command="{command}"]'
        self.wait(lambda _: self.phone(key).find_element(By.CSS_SELECTOR, item).is_displayed())
        self.phone(key).find_element(By.CSS_SELECTOR, item).click()

    def new_message(self, key: str, seen: int, *needles: str, timeout: float = 30.0) -> WebElement:
        """The first bot message after the ``seen`` first ones that shows every needle."""

        def found(_: Any) -> WebElement | bool:
            for message in self.bot_messages(key)[seen:]:
                text = self.text(message)
                if all(needle in text for needle in needles):
                    return message
            return False

        return self.wait(found, timeout, f"{key}: no new message with {needles}")

    def ballot(self, key: str, label: str) -> WebElement:
        """The latest bot message with a button labelled ``label`` (exactly or in part)."""

        def found(_: Any) -> WebElement | bool:
            for message in reversed(self.bot_messages(key)):
                for button in message.find_elements(By.CSS_SELECTOR, ".keyboard button"):
                    if label in visible(button.text):
                        return button
            return False

        return self.wait(found, message=f"{key}: no button {label!r}")

    def press(self, key: str, label: str) -> None:
        def pressed(_: Any) -> bool:
            for message in reversed(self.bot_messages(key)):
                for button in message.find_elements(By.CSS_SELECTOR, ".keyboard button"):
                    if label in visible(button.text):
                        button.click()
                        return True
            return False

        self.wait(pressed, message=f"{key}: no button {label!r}")

    def toast(self, key: str, text: str) -> None:
        def shown(_: Any) -> bool:
            toast = self.phone(key).find_element(By.CSS_SELECTOR, ".toast")
            return toast.is_displayed() and text in visible(toast.text)

        self.wait(shown, message=f"{key}: no toast {text!r}")

    def alert(self, key: str, text: str) -> None:
        """An alert shows ``text`` over the phone until its OK button is pressed."""
        alert = self.phone(key).find_element(By.CSS_SELECTOR, ".alert")
        self.wait(lambda _: alert.is_displayed() and text in visible(alert.text), message=text)
        alert.find_element(By.CSS_SELECTOR, "button").click()
        self.wait(lambda _: not alert.is_displayed())

    def menu(self, key: str) -> dict[str, str]:
        """The command menu as the phone shows it: command to description."""
        phone = self.phone(key)
        phone.find_element(By.CSS_SELECTOR, ".menu-button").click()
        self.wait(lambda _: phone.find_element(By.CSS_SELECTOR, ".menu").is_displayed())
        shown = {
            str(item.get_attribute("data-command")): visible(
                item.find_element(By.CSS_SELECTOR, "span").text
            )
            for item in phone.find_elements(By.CSS_SELECTOR, ".menu button")
        }
        phone.find_element(By.CSS_SELECTOR, ".menu-button").click()
        return shown

    def images(self, key: str) -> list[WebElement]:
        return [
            image
            for image in self.phone(key).find_elements(By.CSS_SELECTOR, ".msg.in img")
            if self.driver.execute_script(
                "return arguments[0].complete && arguments[0].naturalWidth", image
            )
        ]


VOTERS = ["RABAT", "CAIRO", "AMMAN", "DAKAR", "KANO", "ISLAMABAD", "KUALALUMPUR"]


def test_a_whole_session_in_the_browser(rehearsal, browser, screenshots):
    page = Page(browser, rehearsal.url)
    phones = browser.find_elements(By.CSS_SELECTOR, ".phone")
    assert len(phones) == 7
    # Each phone was welcomed in its language; Arabic reads right to left, English left to right.
    cairo = page.bot_messages("CAIRO")[-1]
    assert NAMES["CAIRO"]["ar"] in page.text(cairo) and page.rtl(cairo)
    assert "Welcome" in page.text(page.bot_messages("ISLAMABAD")[-1])
    assert not page.rtl(page.bot_messages("ISLAMABAD")[-1])
    assert "Dakar" in page.text(page.bot_messages("DAKAR")[-1])

    # A delegate of Kano joins, in French, through an invitation the secretariat asks for.
    secretariat_seen = len(page.bot_messages("secretariat"))
    Select(browser.find_element(By.ID, "add-member")).select_by_value("KANO")
    Select(browser.find_element(By.ID, "add-language")).select_by_value("fr")
    browser.find_element(By.CSS_SELECTOR, "#add-delegate button[type=submit]").click()
    page.wait(lambda d: d.find_elements(By.CSS_SELECTOR, '.phone[data-member="KANO"]'))
    welcome = page.new_message("KANO", 0, "Kano")
    assert not page.rtl(welcome)
    invitation = page.new_message("secretariat", secretariat_seen, "start=")
    assert "t.me/oicc_rehearsal_bot?start=" in page.text(invitation)
    screenshots(browser, "joined")

    # Members check in: the chair from the command menu, the others by typing.
    for key in VOTERS:
        seen = len(page.bot_messages(key))
        if key == "RABAT":
            page.from_menu(key, "checkin")
        else:
            page.type(key, "/checkin")
        answer = page.new_message(key, seen, NAMES[key][page.language(key)])
        assert page.rtl(answer) == (page.language(key) == "ar")

    # The chair calls the quorum: seven of twelve members with a voting right attend.
    seen = len(page.bot_messages("RABAT"))
    page.type("RABAT", "/call_quorum")
    page.new_message("RABAT", seen, "Quorate")
    screenshots(browser, "quorum")

    # The chair opens a motion on item 1; every delegate gets a ballot in their language.
    page.type("RABAT", "/motion 1")
    choices = {
        "RABAT": "Yes",
        "CAIRO": "Yes",
        "AMMAN": "Yes",
        "DAKAR": "Yes",
        "KANO": "No",
        "ISLAMABAD": "Abstain",  # never confirmed
        "KUALALUMPUR": "Yes",
    }
    for key, choice in choices.items():
        language = page.language(key)
        page.press(key, tr(language, choice))
        page.ballot(key, tr(language, "Confirm"))
        if key == "ISLAMABAD":
            continue  # Islamabad's delegate hesitates, and confirms only after the close
        page.press(key, tr(language, "Confirm"))
        page.toast(key, tr(language, "Your vote is recorded."))
    # The Arabic ballot names the item in Arabic and reads right to left.
    for key in ("CAIRO", "AMMAN"):
        ballot = page.new_message(key, 0, AGENDA_ITEM_AR)
        assert page.rtl(ballot)
    screenshots(browser, "voted")

    # The chair closes and announces: every delegate reads the outcome in their language.
    seen = {key: len(page.bot_messages(key)) for key in VOTERS}
    page.type("RABAT", "/close")
    page.new_message("RABAT", seen["RABAT"], "Adopted")
    # Too late: the press is answered with an alert, and nothing is recorded.
    page.press("ISLAMABAD", "Confirm")
    page.alert("ISLAMABAD", tr("en", "This vote is closed."))
    page.type("RABAT", "/announce")
    for key in VOTERS:
        language = page.language(key)
        result = page.new_message(key, seen[key], tr(language, "✅ <b>Adopted.</b>"))
        assert page.rtl(result) == (language == "ar")
    screenshots(browser, "resolution")

    # The council election: a secret ballot with candidates as buttons, then the chart.
    page.type("RABAT", "/election 1")
    for key in VOTERS:
        language = page.language(key)
        candidate = "ISTANBUL" if key in ("KANO", "DAKAR") else "RABAT"
        page.press(key, NAMES[candidate][language])
        page.ballot(key, "☑️ " + NAMES[candidate][language])  # ticked, as the voter sees
        page.press(key, tr(language, "Submit"))
        page.press(key, tr(language, "Confirm"))
        page.toast(key, tr(language, "Your vote is recorded."))
    seen = len(page.bot_messages("RABAT"))
    page.type("RABAT", "/close")
    count = page.new_message("RABAT", seen, "Elected: Rabat, Istanbul")
    assert "7 voted, 0 blank" in page.text(count)
    page.wait(lambda _: page.images("RABAT"), message="the chair sees no chart")
    page.type("RABAT", "/announce")
    for key in VOTERS:
        page.wait(lambda _, key=key: page.images(key), message=f"{key} sees no chart")
    page.type("secretariat", "/results")
    page.wait(lambda _: page.images("secretariat"), message="the secretariat sees no chart")
    for key in [*VOTERS, "secretariat"]:
        chart = page.images(key)[-1]
        width = browser.execute_script("return arguments[0].naturalWidth", chart)
        assert width > 300  # a real rendered chart, not a broken image
    elected = tr("ar", "Elected: {names}", names=NAMES["RABAT"]["ar"])
    assert any(elected.split(":")[0] in page.text(m) for m in page.bot_messages("CAIRO"))
    screenshots(browser, "chart")


def test_menus_by_language_and_role_a_language_switch_and_starting_over(
    rehearsal, browser, screenshots
):
    page = Page(browser, rehearsal.url)
    checkin = "check your member in to the current meeting"
    # Each phone's menu is in its language, and only the chair's has the chair's commands.
    cairo = page.menu("CAIRO")
    assert cairo["checkin"] == tr("ar", checkin) and "call_quorum" not in cairo
    chair = page.menu("RABAT")
    assert chair["checkin"] == tr("en", checkin)
    assert chair["call_quorum"] == tr("en", "call the quorum (chair)")
    secretariat = page.menu("secretariat")
    assert "invite" in secretariat and "checkin" not in secretariat

    # Dakar's delegate switches the phone to English: the bot answers in English, the menu
    # follows, and the phone keeps its chat.
    seen = len(page.bot_messages("DAKAR"))
    Select(page.phone("DAKAR").find_element(By.CSS_SELECTOR, "select.language")).select_by_value(
        "en"
    )
    page.new_message("DAKAR", seen, tr("en", "Language set to English."))
    page.wait(lambda _: page.menu("DAKAR").get("checkin") == tr("en", checkin))
    assert page.language("DAKAR") == "en"
    page.type("DAKAR", "/dues")
    dues = page.new_message("DAKAR", seen + 1, "Dakar")
    assert not page.rtl(dues)
    screenshots(browser, "switched")

    # Starting over: a fresh database and the default phones, each with only its welcome.
    browser.find_element(By.ID, "start-over").click()
    page.wait(lambda _: len(page.bot_messages("DAKAR")) == 1 and page.language("DAKAR") == "fr")
    page.wait(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "yes")
    assert len(browser.find_elements(By.CSS_SELECTOR, ".phone")) == 7
    assert "Dakar" in page.text(page.bot_messages("DAKAR")[0])
    screenshots(browser, "started-over")
