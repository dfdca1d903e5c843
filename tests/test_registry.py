from decimal import Decimal

import pytest

from bot.registry import ImportProblem, parse_amount, parse_dues, parse_members

HEADER = "code,name_en,name_fr,name_ar,country,region,kind,council,active\n"


def test_members_parse():
    members = parse_members(
        HEADER + "cairo,Cairo,Le Caire,القاهرة,Egypt,arab,capital,elected,true\n"
    )
    assert members[0].code == "CAIRO"
    assert members[0].name("ar") == "القاهرة"
    assert members[0].active is True


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("CAIRO,Cairo,Le Caire,القاهرة,Egypt,europe,capital,elected,true", "region"),
        ("CAIRO,Cairo,Le Caire,القاهرة,Egypt,arab,town,elected,true", "kind"),
        ("CAIRO,Cairo,Le Caire,القاهرة,Egypt,arab,capital,maybe,true", "council"),
        ("CAIRO,Cairo,Le Caire,القاهرة,Egypt,arab,capital,elected,yes", "active"),
        ("CAIRO,,Le Caire,القاهرة,Egypt,arab,capital,elected,true", "name_en"),
        ("CAI RO,Cairo,Le Caire,القاهرة,Egypt,arab,capital,elected,true", "code"),
    ],
)
def test_bad_member_rows_name_line_and_reason(row, reason):
    good = "AMMAN,Amman,Amman,عمان,Jordan,arab,capital,none,true\n"
    with pytest.raises(ImportProblem) as problem:
        parse_members(HEADER + good + row + "\n")
    assert problem.value.line == 3
    assert reason in problem.value.reason


def test_duplicate_member_and_missing_column():
    row = "AMMAN,Amman,Amman,عمان,Jordan,arab,capital,none,true\n"
    with pytest.raises(ImportProblem, match="twice"):
        parse_members(HEADER + row + row)
    with pytest.raises(ImportProblem, match="missing column"):
        parse_members("code,name_en\nX,Y\n")


def test_dues_parse_and_refusals():
    kinds = {"CAIRO": "capital", "SG": "office"}
    rows = parse_dues("member,year,fund,due,paid\ncairo,2024,organization,100,50.5\n", kinds)
    assert rows[0].due == Decimal("100.00") and rows[0].paid == Decimal("50.50")
    for line, reason in [
        ("ROME,2024,organization,1,1", "unknown member"),
        ("SG,2024,organization,1,1", "pays no dues"),
        ("CAIRO,24,organization,1,1", "not a year"),
        ("CAIRO,2024,fund,1,1", "fund"),
        ("CAIRO,2024,organization,-1,1", "amount"),
        ("CAIRO,2024,organization,1.001,1", "decimals"),
    ]:
        with pytest.raises(ImportProblem) as problem:
            parse_dues("member,year,fund,due,paid\n" + line + "\n", kinds)
        assert problem.value.line == 2
        assert reason in problem.value.reason


def test_amounts():
    assert parse_amount("1,200.5") == Decimal("1200.50")
    for bad in ["abc", "NaN", "Infinity", "-3", "1e400x"]:
        with pytest.raises(ValueError):
            parse_amount(bad)
