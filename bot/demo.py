"""A demo conference: a small registry and ledger, enough to try every command."""

from __future__ import annotations

from dataclasses import dataclass

from bot import clock
from bot.registry import Member, parse_dues, parse_members
from bot.store import Database, meetings, registry

MEMBERS_CSV = """code,name_en,name_fr,name_ar,country,region,kind,council,active
MAKKAH,Makkah Al-Mukarramah,La Mecque,مكة المكرمة,Saudi Arabia,arab,city,permanent,true
MADINAH,Al-Madinah Al-Munawarah,Médine,المدينة المنورة,Saudi Arabia,arab,city,permanent,true
QUDS,Al-Quds Al-Sharief,Al-Qods Al-Charif,القدس الشريف,Palestine,arab,capital,permanent,true
SG,Secretary General,Secrétaire général,الأمين العام,Saudi Arabia,arab,office,permanent,true
CAIRO,Cairo,Le Caire,القاهرة,Egypt,arab,capital,elected,true
AMMAN,Amman,Amman,عمّان,Jordan,arab,capital,elected,true
RABAT,Rabat,Rabat,الرباط,Morocco,arab,capital,none,true
TUNIS,Tunis,Tunis,تونس,Tunisia,arab,capital,none,true
DAKAR,Dakar,Dakar,داكار,Senegal,african,capital,elected,true
ABUJA,Abuja,Abuja,أبوجا,Nigeria,african,capital,none,true
BAMAKO,Bamako,Bamako,باماكو,Mali,african,capital,none,true
KANO,Kano,Kano,كانو,Nigeria,african,city,none,true
ISLAMABAD,Islamabad,Islamabad,إسلام آباد,Pakistan,asian,capital,elected,true
DHAKA,Dhaka,Dacca,دكا,Bangladesh,asian,capital,none,true
KUALALUMPUR,Kuala Lumpur,Kuala Lumpur,كوالالمبور,Malaysia,asian,capital,elected,true
ISTANBUL,Istanbul,Istanbul,إسطنبول,Türkiye,asian,city,none,true
LAHORE,Lahore,Lahore,لاهور,Pakistan,asian,city,none,false
"""


def dues_csv(current_year: int) -> str:
    """Three members owe something in the last three completed years; the rest are paid up."""
    owing = {
        "TUNIS": ("organization", 1),
        "BAMAKO": ("cooperation_fund", 2),
        "DHAKA": ("organization", 3),
    }
    lines = ["member,year,fund,due,paid"]
    for code in (
        "MAKKAH",
        "MADINAH",
        "QUDS",
        "CAIRO",
        "AMMAN",
        "RABAT",
        "TUNIS",
        "DAKAR",
        "ABUJA",
        "BAMAKO",
        "KANO",
        "ISLAMABAD",
        "DHAKA",
        "KUALALUMPUR",
        "ISTANBUL",
        "LAHORE",
    ):
        for back in range(0, 5):
            year = current_year - back
            for fund, due in (("organization", "5000.00"), ("cooperation_fund", "2500.00")):
                paid = due
                if back == 0 or (code in owing and owing[code] == (fund, back)):
                    paid = "0.00" if back else "1000.00"
                lines.append(f"{code},{year},{fund},{due},{paid}")
    return "\n".join(lines) + "\n"


AGENDA = [
    ("1", "Adoption of the agenda", "Adoption de l'ordre du jour", "إقرار جدول الأعمال"),
    ("2", "Report of the Secretary General", "Rapport du Secrétaire général", "تقرير الأمين العام"),
    (
        "3",
        "Budget of the Cooperation Fund",
        "Budget du Fonds de coopération",
        "ميزانية صندوق التعاون",
    ),
]


@dataclass(frozen=True)
class Loaded:
    members: list[Member]
    meeting: int | None  # the open demo meeting, if any
    changed: bool  # False when everything was already there: nothing was written


async def load(db: Database, current_year: int, *, meeting: bool = True) -> Loaded:
    """The demo registry and ledger; with ``meeting``, a General Conference session hosted
    by Rabat that has just started, with a three-item agenda. Loading it again writes
    nothing (and adds nothing to the audit log) while all of it is still there."""
    members = parse_members(MEMBERS_CSV)
    changed = False
    known = {m.code: m for m in await registry.members(db)}
    if any(known.get(m.code) != m for m in members):
        await registry.import_members(db, members, actor="demo")
        changed = True
    kinds = {m.code: m.kind for m in members}
    dues = parse_dues(dues_csv(current_year), kinds)
    ledger = await registry.all_dues(db)
    if any(row not in ledger.get(row.member, []) for row in dues):
        await registry.import_dues(db, dues, actor="demo")
        changed = True
    found = None
    if meeting:
        current = [m for m in await meetings.open_meetings(db) if m.title == MEETING_TITLE]
        if current:
            found = current[0].id
        else:
            found = await meetings.create_meeting(
                db,
                "gc",
                "ordinary",
                MEETING_TITLE,
                clock.now(),
                "Asia/Riyadh",
                "RABAT",
                [meetings.AgendaItem(*row) for row in AGENDA],
                actor="demo",
            )
            changed = True
    return Loaded(members, found, changed)


MEETING_TITLE = "General Conference (demo)"
