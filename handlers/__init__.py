"""Telegram handlers, one module per capability, each with ``register(application)``."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application

from handlers import (
    account,
    agenda,
    attendance,
    common,
    deadlines,
    delegates,
    dues,
    elections,
    errors,
    fallback,
    invitations,
    meetings,
    menu,
    notices,
    requests,
    votes,
    withdrawal,
)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    # Order matters: the slowdown goes first, the catch-all fallback last.
    common.register(application)
    for module in (account, dues, invitations, meetings, votes, elections, notices, requests):
        module.register(application)
    for module in (agenda, attendance, deadlines, delegates, withdrawal):
        module.register(application)
    fallback.register(application)
    errors.register(application)


async def on_startup(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    await menu.publish(application)
    await meetings.resume(application)
    await deadlines.resume(application)
