"""Dues: /dues for a delegate's own member (or any member, for the secretariat),
/arrears and /paid for the secretariat."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler, filters

from bot import clock, i18n, rules
from bot import dues as dues_core
from bot import registry as registry_core
from bot.app import Services, services
from bot.i18n import N_, Html, t
from bot.registry import normalize_code
from bot.store import registry
from bot.usecases import dues as dues_cases
from handlers.common import Caller, Context, action, reply


def current_year(svc: Services) -> int:
    return clock.year_in(svc.settings.timezone)


def fund_name(fund: str) -> str:
    return t("Organization") if fund == "organization" else t("Cooperation Fund")


def reason_text(reason: rules.Reason, currency: str) -> str:
    code = reason.code
    if code == "unpaid":
        return t(
            "{fund} dues for {year} are not fully paid: {amount} outstanding.",
            fund=fund_name(reason.fund or "organization"),
            year=reason.year,
            amount=i18n.money(reason.outstanding or 0, currency),  # type: ignore[arg-type]
        )
    if code == "paid_up":
        return t(
            "Dues to both the Organization and the Cooperation Fund are fully paid for every year that counts."
        )
    if code == "inactive":
        return t("The member is not active.")
    if code == "office_no_dues":
        return t("The Secretary General pays no dues and holds a council vote.")
    if code == "permanent_member":
        return t("Permanent members of the council are not elected, so they are not candidates.")
    if code == "not_capital_or_city":
        return t("Only capitals and cities can be candidates or hold a General Conference vote.")
    return t("Reason: {code}", code=code)


def render_report(report: dues_core.DuesReport, language: str, currency: str, years: int) -> str:
    member = report.member
    lines: list[str] = [t("<b>Dues of {member}</b>", member=member.name(language))]
    if member.kind == "office":
        lines.append(t("The Secretary General pays no dues and holds a council vote."))
    else:
        for year in sorted({y.year for y in report.years}):
            lines.append("")
            lines.append(f"<b>{i18n.escape(str(year))}</b>")
            for line in (y for y in report.years if y.year == year):
                lines.append(
                    t(
                        "{fund}: due {due}, paid {paid}, outstanding {outstanding}",
                        fund=fund_name(line.fund),
                        due=i18n.money(line.due, currency),
                        paid=i18n.money(line.paid, currency),
                        outstanding=i18n.money(line.outstanding, currency),
                    )
                )
    lines.append("")
    if report.good_standing.ok:
        lines.append(t("✅ In good standing: holds a voting right."))
    elif member.kind == "office":
        lines.append(t("✅ Holds a council vote without dues."))
    else:
        lines.append(t("❌ Not in good standing: no voting right."))
    lines.append(
        i18n.tn(
            "Good standing counts the last completed year.",
            "Good standing counts the last {n} completed years.",
            years,
        )
    )
    for reason in report.good_standing.reasons:
        lines.append("• " + reason_text(reason, currency))
    lines.append("")
    if report.council_eligible.ok:
        lines.append(t("✅ Eligible as a candidate for the Administrative Council."))
    else:
        lines.append(t("❌ Not eligible as a candidate for the Administrative Council."))
    for reason in report.council_eligible.reasons:
        if report.council_eligible.ok and reason.code == "paid_up":
            continue
        lines.append("• " + reason_text(reason, currency))
    return "\n".join(lines)


async def member_report(svc: Services, code: str) -> dues_core.DuesReport | None:
    member = await registry.get_member(svc.db, code)
    if member is None:
        return None
    ledger = await registry.dues_of(svc.db, code)
    return dues_core.report(member, ledger, current_year(svc), svc.settings.good_standing_years)


@action("registered")
async def dues_command(update: Update, context: Context, caller: Caller) -> None:
    svc = services(context)
    args = context.args or []
    if args and not caller.is_secretariat:
        await reply(
            update,
            t("You can only see the dues of your own member. Send /dues without a member code."),
        )
        return
    if len(args) > 1:
        await reply(update, t("Usage: /dues MEMBER"))
        return
    if args:
        code = normalize_code(args[0])
    elif caller.member is not None:
        code = caller.member.code
    else:
        await reply(update, t("Usage: /dues MEMBER"))
        return
    report = await member_report(svc, code)
    if report is None:
        await reply(update, t("There is no member with the code {code}.", code=args[0][:40]))
        return
    years = svc.settings.good_standing_years
    await reply(update, render_report(report, caller.language, svc.settings.currency, years))


@action("secretariat")
async def arrears(update: Update, context: Context, caller: Caller) -> None:
    svc = services(context)
    ledger = await registry.all_dues(svc.db)
    year = current_year(svc)
    years = svc.settings.good_standing_years
    lines: list[str] = []
    for member in await registry.members(svc.db):
        rows = ledger.get(member.code, [])
        if not dues_core.in_arrears(member, rows, year, years):
            continue
        report = dues_core.report(member, rows, year, years)
        owed = sum((y.outstanding for y in report.years if y.year < year), start=Decimal(0))
        lines.append(
            t(
                "• {member} ({code}): {amount} outstanding",
                member=member.name(caller.language),
                code=member.code,
                amount=i18n.money(owed, svc.settings.currency),
            )
        )
    if not lines:
        await reply(update, t("No member is in arrears."))
        return
    head = i18n.tn("{n} member is in arrears:", "{n} members are in arrears:", len(lines))
    await reply(update, Html(head + "\n" + "\n".join(lines)))


# TRANSLATORS: how to write the command; translate the words in capitals, keep the rest.
PAID_USAGE = N_("/paid MEMBER YEAR organization|cooperation_fund AMOUNT")


@action("secretariat")
async def paid(update: Update, context: Context, caller: Caller) -> None:
    svc = services(context)
    args = context.args or []
    if len(args) != 4:
        await reply(update, t("Usage: {usage}", usage=t(PAID_USAGE)))
        return
    code, raw_year, raw_fund, raw_amount = args
    fund = raw_fund.lower()
    try:
        year = registry_core.parse_year(raw_year)
    except ValueError:
        year = None
    try:
        amount = registry_core.parse_amount(raw_amount)
    except ValueError:
        amount = None
    payment = None
    if year is not None and amount is not None:
        payment = await dues_cases.record_payment(
            svc.db, normalize_code(code), year, fund, amount, actor_id=caller.telegram_id
        )
    if payment is not None and payment.status == "unknown_member":
        await reply(update, t("There is no member with the code {code}.", code=code[:40]))
    elif payment is not None and payment.status == "office":
        await reply(update, t("The Secretary General pays no dues and holds a council vote."))
    elif fund not in registry_core.FUNDS:
        await reply(
            update,
            t(
                "The fund must be organization or cooperation_fund. Usage: {usage}",
                usage=t(PAID_USAGE),
            ),
        )
    elif year is None:
        await reply(
            update,
            t("{value} is not a year. Usage: {usage}", value=raw_year[:20], usage=t(PAID_USAGE)),
        )
    elif payment is None or payment.status == "bad_amount":
        await reply(
            update,
            t(
                "{value} is not a positive amount with at most two decimals. Usage: {usage}",
                value=raw_amount[:20],
                usage=t(PAID_USAGE),
            ),
        )
    else:
        assert payment.member is not None and payment.row is not None and amount is not None
        currency = svc.settings.currency
        await reply(
            update,
            t(
                "Payment recorded: {amount} to the {fund} for {year}, {member}. Paid now {paid} of {due}.",
                amount=i18n.money(amount, currency),
                fund=fund_name(fund),
                year=year,
                member=payment.member.name(caller.language),
                paid=i18n.money(payment.row.paid, currency),
                due=i18n.money(payment.row.due, currency),
            ),
        )


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("dues", dues_command, private))
    application.add_handler(CommandHandler("arrears", arrears, private))
    application.add_handler(CommandHandler("paid", paid, private))
