"""/notice for the General Secretariat: audience, text (one for all, or one per language),
a preview in each language, then Confirm or Cancel. The draft lives in the database."""

from __future__ import annotations

from typing import Any

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import callbacks, i18n, notices
from bot.app import Services, services
from bot.i18n import Html, t, tn
from bot.notices import Draft, NoRecipients
from handlers import fallback
from handlers.common import Caller, Context, action, keyboard, reply, uneditable

# Button value -> audience (callback data allows no colon inside an argument).
AUDIENCE_BUTTONS = {
    "all": "all",
    "gc": "gc",
    "council": "council",
    "arrears": "arrears",
    "african": "region:african",
    "arab": "region:arab",
    "asian": "region:asian",
}
# Before every other handler, in a group of its own, so that it never stops one.
PACING_GROUP = -100


def _button(draft: Draft, value: str) -> str:
    return callbacks.make("n", draft.id, value)


def _cancel(draft: Draft) -> tuple[str, str]:
    return (t("Cancel"), _button(draft, "cancel"))


def _audience_keyboard(draft: Draft) -> InlineKeyboardMarkup:
    def choice(value: str) -> tuple[str, str]:
        return (notices.audience_label(AUDIENCE_BUTTONS[value]), _button(draft, value))

    return keyboard(
        [
            [choice("all")],
            [choice("gc"), choice("council")],
            [choice("arrears")],
            [choice("african"), choice("arab"), choice("asian")],
            [_cancel(draft)],
        ]
    )


def _prompt(draft: Draft) -> str:
    if draft.step == "ar":
        return t("Send the text in Arabic, as one message.")
    if draft.step == "en":
        return t("Send the text in English, as one message.")
    if draft.step == "fr":
        return t("Send the text in French, as one message.")
    return t(
        "Send the text of the notice, as one message. Every delegate receives it as you"
        " write it, under the heading of the General Secretariat."
    )


async def _count(svc: Services, audience: str) -> int:
    found = await notices.recipients(
        svc.db,
        audience,
        notices.current_year(svc.settings.timezone),
        svc.settings.good_standing_years,
    )
    return len(found)


async def _edit(
    query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" in str(exc).lower():
            return
        if not uneditable(exc):
            raise
        # Too old to edit, or gone: the same content comes as a new message.
        await query.get_bot().send_message(
            query.from_user.id, text, parse_mode=ParseMode.HTML, reply_markup=markup
        )


@action("secretariat")
async def notice_command(update: Update, context: Context, caller: Caller) -> None:
    draft = await notices.new_draft(services(context).db, caller.telegram_id)
    await reply(
        update,
        t("<b>New notice</b>\nWho should receive it?"),
        _audience_keyboard(draft),
    )


@action("secretariat")
async def notice_button(update: Update, context: Context, caller: Caller) -> None:
    svc = services(context)
    query = update.callback_query
    assert query is not None
    parsed = callbacks.parse(query.data)
    draft = await notices.get_draft(svc.db, caller.telegram_id)
    if parsed is None or draft is None or draft.id != parsed.args[0]:
        await query.answer(t("This button is not valid any more."), show_alert=True)
        return
    value = parsed.args[1]
    if value == "cancel":
        await query.answer()
        if await notices.drop_draft(svc.db, caller.telegram_id, draft.id):
            await _edit(query, t("Notice cancelled. Nothing was sent."))
        return
    if draft.step == "audience" and value in AUDIENCE_BUTTONS:
        await _choose_audience(query, svc, caller, draft, AUDIENCE_BUTTONS[value])
    elif draft.step == "mode" and value in ("one", "each"):
        after = draft.with_mode(value == "each")
        if not await notices.advance(svc.db, caller.telegram_id, draft, after):
            await query.answer(t("This button is not valid any more."), show_alert=True)
            return
        await query.answer()
        await _edit(query, _prompt(after), keyboard([[_cancel(after)]]))
    elif draft.step == "confirm" and value == "send":
        await _send(query, svc, caller, draft)
    else:
        await query.answer(t("This button is not valid any more."), show_alert=True)


async def _choose_audience(
    query: CallbackQuery, svc: Services, caller: Caller, draft: Draft, audience: str
) -> None:
    count = await _count(svc, audience)
    if count == 0:
        await query.answer(t("No registered delegate belongs to this audience."), show_alert=True)
        return
    after = draft.with_audience(audience)
    if not await notices.advance(svc.db, caller.telegram_id, draft, after):
        await query.answer(t("This button is not valid any more."), show_alert=True)
        return
    await query.answer()
    # TRANSLATORS: {audience} is e.g. "All delegates" or "Members in arrears".
    text = tn(
        "Audience: {audience}, {n} recipient.",
        "Audience: {audience}, {n} recipients.",
        count,
        audience=Html(notices.audience_label(audience)),
    )
    question = t("Write one text for all languages, or one text per language?")
    rows: list[list[tuple[str, str]]] = [
        [(t("One text for all languages"), _button(after, "one"))],
        [(t("One text per language"), _button(after, "each"))],
        [_cancel(after)],
    ]
    await _edit(query, f"{text}\n{question}", keyboard(rows))


async def _send(query: CallbackQuery, svc: Services, caller: Caller, draft: Draft) -> None:
    # Taking the confirmation first makes a second press (or a late Cancel) harmless.
    taken = draft.confirmed()
    if not await notices.advance(svc.db, caller.telegram_id, draft, taken):
        await query.answer(t("This button is not valid any more."), show_alert=True)
        return
    await query.answer()
    message = query.message
    assert message is not None
    # This message becomes the progress message: the delivery loop edits it from now on.
    await _edit(query, t("Sending the notice…"))
    try:
        sent = await notices.send_draft(
            svc.db,
            caller.telegram_id,
            taken,
            current_year=notices.current_year(svc.settings.timezone),
            good_standing_years=svc.settings.good_standing_years,
            progress=(message.chat.id, message.message_id),
        )
    except NoRecipients:
        await notices.drop_draft(svc.db, caller.telegram_id, draft.id)
        await _edit(query, t("No registered delegate belongs to this audience. Nothing was sent."))
        return
    if sent is None:
        await _edit(query, t("Notice cancelled. Nothing was sent."))


async def typed(update: Update, context: Context) -> None:
    """Plain text: a notice's text when the person is composing one, else the fallback."""
    user = update.effective_user
    if user is not None:
        draft = await notices.get_draft(services(context).db, user.id)
        if draft is not None and draft.waiting_for_text:
            await take_text(update, context)
            return
    await fallback.text(update, context)


@action("secretariat")
async def take_text(update: Update, context: Context, caller: Caller) -> None:
    svc = services(context)
    message = update.effective_message
    draft = await notices.get_draft(svc.db, caller.telegram_id)
    if message is None or draft is None or not draft.waiting_for_text:
        await reply(update, t("Send /notice to write a new notice."))
        return
    text = message.text or ""
    if not text.strip():
        await reply(update, _prompt(draft))
        return
    after = draft.with_text(text)
    if not await notices.advance(svc.db, caller.telegram_id, draft, after):
        await reply(update, t("This notice changed in the meantime. Send /notice to start again."))
        return
    if after.step != "confirm":
        await reply(update, _prompt(after), keyboard([[_cancel(after)]]))
        return
    assert after.audience is not None
    for language in i18n.LANGUAGES:
        heading = t("<b>Preview in {language}</b>", language=i18n.LANGUAGE_NAMES[language])
        await reply(update, f"{heading}\n\n{notices.render(after.texts, language)}")
    count = await _count(svc, after.audience)
    # TRANSLATORS: {audience} is e.g. "All delegates" or "Members in arrears", a label:
    # keep it out of a grammatical case that would change its ending.
    question = tn(
        "Send this notice to {audience}, {n} recipient?",
        "Send this notice to {audience}, {n} recipients?",
        count,
        audience=Html(notices.audience_label(after.audience)),
    )
    rows = [[(t("Confirm"), _button(after, "send")), _cancel(after)]]
    await reply(update, question, keyboard(rows))


async def count_update(update: Update, context: Context) -> None:
    """Most updates get an answer: keep room for it in the outbox's sending budget."""
    svc = context.bot_data.get("services")
    sender = svc.extras.get("sender") if isinstance(svc, Services) else None
    if sender is not None and (update.message or update.callback_query):
        chat = update.effective_chat
        sender.note_incoming(chat.id if chat else None)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    private = filters.ChatType.PRIVATE
    application.add_handler(TypeHandler(Update, count_update), group=PACING_GROUP)
    application.add_handler(CommandHandler("notice", notice_command, private))
    application.add_handler(
        CallbackQueryHandler(notice_button, pattern=r"^n:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+$")
    )
    application.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND, typed))
