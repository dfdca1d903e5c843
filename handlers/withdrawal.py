"""/withdraw (chair): a question opened by mistake is withdrawn before its close. Nothing
is counted, every roll member's delegates are told, and its ballots are refused from then
on (SPEC, settled reading)."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler, filters

from bot import i18n
from bot.app import services
from bot.i18n import t
from bot.store import meetings as meetings_store
from bot.store.meetings import Meeting
from bot.usecases import withdrawal as usecase
from handlers.common import Caller, Context, reply
from handlers.meetings import meeting_command, meeting_label


@meeting_command("withdraw", "chair")
async def withdraw(
    update: Update, context: Context, caller: Caller, meeting: Meeting, args: list[str]
) -> None:
    from handlers.votes import question_title, refresh_turnout

    svc = services(context)
    question = await meetings_store.open_question_of(svc.db, meeting.id)
    if question is None:
        await reply(update, t("No vote is open in this meeting: there is nothing to withdraw."))
        return
    texts = {}
    for language in i18n.LANGUAGES:
        with i18n.use_locale(language):
            texts[language] = "\n".join(
                [
                    f"↩️ <b>{meeting_label(meeting)}</b>",
                    await question_title(svc.db, question, language),
                    t(
                        "The chair has withdrawn this vote. Nothing is counted, and its ballot no longer accepts votes."
                    ),
                ]
            )
    outcome = await usecase.withdraw(svc.db, question.id, texts, actor_id=caller.telegram_id)
    if isinstance(outcome, usecase.WithdrawRefused):
        await reply(update, t("This vote is closed."))
        return
    title = await question_title(svc.db, question, caller.language)
    await reply(
        update,
        "\n".join(
            [
                t("↩️ Withdrawn: {title}", title=i18n.Html(title)),
                t(
                    "Nothing is counted. {voted} of {roll} members had voted; their ballots stay in the record, never counted.",
                    voted=i18n.number(outcome.voted),
                    roll=i18n.number(outcome.roll),
                ),
                t("Every member on the roll is being told."),
            ]
        ),
    )
    await refresh_turnout(context, question.id)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(CommandHandler("withdraw", withdraw, filters.ChatType.PRIVATE))
