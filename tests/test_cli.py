"""The command line as the secretariat uses it: real files, real database, exit codes."""

import json
import sqlite3

import pytest

from bot.__main__ import main
from bot.demo import MEMBERS_CSV


@pytest.fixture
def env(tmp_path, monkeypatch):
    path = tmp_path / "cli.sqlite3"
    monkeypatch.setenv("DATABASE_PATH", str(path))
    monkeypatch.setenv("BOT_USERNAME", "oicc_test_bot")
    monkeypatch.setenv("TIMEZONE", "Asia/Riyadh")
    return tmp_path


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def count(env, table):
    if not (env / "cli.sqlite3").exists():
        return 0  # nothing written at all
    with sqlite3.connect(env / "cli.sqlite3") as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_members_import_is_all_or_nothing(env, capsys):
    bad = MEMBERS_CSV + "ROME,Rome,Rome,روما,Italy,europe,capital,none,true\n"
    (env / "bad.csv").write_text(bad, encoding="utf-8")
    code, _, err = run(capsys, "members", "import", str(env / "bad.csv"))
    assert code == 2
    assert err.count("\n") == 1 and "line 19" in err and "region" in err
    assert count(env, "members") == 0
    (env / "good.csv").write_text(MEMBERS_CSV, encoding="utf-8")
    assert run(capsys, "members", "import", str(env / "good.csv"))[0] == 0
    assert run(capsys, "members", "import", str(env / "good.csv"))[0] == 0
    assert count(env, "members") == MEMBERS_CSV.strip().count("\n")


def test_dues_import_status_and_pay(env, capsys):
    (env / "m.csv").write_text(MEMBERS_CSV, encoding="utf-8")
    run(capsys, "members", "import", str(env / "m.csv"))
    (env / "d.csv").write_text(
        "member,year,fund,due,paid\nCAIRO,2023,organization,100,100\nCAIRO,2024,organization,100,40\n"
        "CAIRO,2025,cooperation_fund,50,50\n",
        encoding="utf-8",
    )
    assert run(capsys, "dues", "import", str(env / "d.csv"))[0] == 0
    code, out, _ = run(capsys, "dues", "status", "cairo", "--json")
    data = json.loads(out)
    assert code == 0 and data["member"] == "CAIRO"
    assert data["good_standing"] is False and data["council_eligible"] is False
    assert {"year": 2024, "fund": "organization", "due": "100.00", "paid": "40.00"}.items() <= [
        y for y in data["years"] if y["year"] == 2024 and y["fund"] == "organization"
    ][0].items()
    years = {(y["year"], y["fund"]) for y in data["years"]}
    assert {(2023, "organization"), (2023, "cooperation_fund"), (2025, "organization")} <= years
    assert any(r["code"] == "unpaid" and r["year"] == 2024 for r in data["reasons"])
    assert run(capsys, "dues", "pay", "CAIRO", "2024", "organization", "60")[0] == 0
    data = json.loads(run(capsys, "dues", "status", "CAIRO", "--json")[1])
    assert data["good_standing"] is True


def test_bad_dues_file_writes_nothing(env, capsys):
    (env / "m.csv").write_text(MEMBERS_CSV, encoding="utf-8")
    run(capsys, "members", "import", str(env / "m.csv"))
    (env / "d.csv").write_text(
        "member,year,fund,due,paid\nCAIRO,2023,organization,100,100\nNOWHERE,2024,organization,1,1\n",
        encoding="utf-8",
    )
    code, _, err = run(capsys, "dues", "import", str(env / "d.csv"))
    assert code == 2 and "line 3" in err and "NOWHERE" in err
    assert count(env, "dues") == 0


def test_invite_json_and_refusals(env, capsys):
    (env / "m.csv").write_text(MEMBERS_CSV, encoding="utf-8")
    run(capsys, "members", "import", str(env / "m.csv"))
    code, out, _ = run(capsys, "invite", "CAIRO", "--role", "chair", "--json")
    data = json.loads(out)
    assert code == 0 and data["member"] == "CAIRO" and data["role"] == "chair"
    assert data["link"] == f"https://t.me/oicc_test_bot?start={data['code']}"
    assert "+" in data["expires_at"] or data["expires_at"].endswith("Z")
    with sqlite3.connect(env / "cli.sqlite3") as conn:
        stored = conn.execute("SELECT code_hash FROM invitations").fetchone()[0]
    assert data["code"] not in stored  # kept hashed at rest
    assert run(capsys, "invite", "ROME")[0] == 2
    assert run(capsys, "invite", "CAIRO", "--role", "secretariat")[0] == 2
    code, out, _ = run(capsys, "invite", "secretariat", "--json")
    assert code == 0 and json.loads(out)["member"] is None


def test_errors_are_one_line_exit_2(env, capsys):
    code, _, err = run(capsys, "members", "import", str(env / "missing.csv"))
    assert code == 2 and err.count("\n") == 1
    code, _, err = run(capsys, "dues", "pay", "CAIRO", "20x4", "organization", "5")
    assert code == 2 and err.count("\n") == 1
    with pytest.raises(SystemExit) as exit_:
        main(["nonsense"])
    assert exit_.value.code == 2


def test_bad_setting_is_reported(env, capsys, monkeypatch):
    monkeypatch.setenv("TIMEZONE", "Mars/Olympus")
    code, _, err = run(capsys, "demo")
    assert code == 2 and "TIMEZONE" in err


def test_meeting_create_agenda_close_and_exports(env, capsys):
    (env / "m.csv").write_text(MEMBERS_CSV, encoding="utf-8")
    run(capsys, "members", "import", str(env / "m.csv"))
    (env / "a.csv").write_text(
        "item,title_en,title_fr,title_ar\n1,Budget,Budget,الميزانية\n", encoding="utf-8"
    )
    code, _, err = run(
        capsys,
        "meeting",
        "create",
        "--body",
        "gc",
        "--kind",
        "extraordinary",
        "--title",
        "Extra",
        "--starts",
        "2026-01-01T10:00",
        "--chair-member",
        "RABAT",
    )
    assert code == 2 and "agenda" in err
    code, out, _ = run(
        capsys,
        "meeting",
        "create",
        "--body",
        "gc",
        "--kind",
        "ordinary",
        "--title",
        "Session",
        "--starts",
        "2026-01-01T10:00",
        "--chair-member",
        "rabat",
        "--agenda",
        str(env / "a.csv"),
        "--json",
    )
    meeting = json.loads(out)
    assert code == 0 and meeting["starts_at"] == "2026-01-01T10:00:00+03:00"
    assert meeting["agenda"] == ["1"]
    (env / "b.csv").write_text(
        "item,title_en,title_fr,title_ar\n2,Report,Rapport,التقرير\n", encoding="utf-8"
    )
    assert run(capsys, "meeting", "agenda", str(meeting["id"]), str(env / "b.csv"))[0] == 0
    assert run(capsys, "meeting", "agenda", str(meeting["id"]), str(env / "b.csv"))[0] == 2
    code, out, _ = run(
        capsys, "export", "attendance", "--meeting", str(meeting["id"]), "--format", "json"
    )
    data = json.loads(out)
    # no dues rows: nothing was due, so every active capital and city holds a vote
    assert code == 0 and data["base"] == 15 and data["needed"] == 8
    assert data["attending"] == [] and data["quorate"] is False and data["postponed_until"] is None
    code, out, _ = run(
        capsys, "export", "results", "--meeting", str(meeting["id"]), "--format", "csv"
    )
    assert code == 0 and out.splitlines()[0].startswith("question,kind")
    assert run(capsys, "meeting", "close", str(meeting["id"]))[0] == 0
    assert run(capsys, "meeting", "close", str(meeting["id"]))[0] == 2
    assert run(capsys, "export", "results", "--meeting", "99")[0] == 2


def test_meeting_and_election_titles_in_three_languages(env, capsys):
    (env / "m.csv").write_text(MEMBERS_CSV, encoding="utf-8")
    run(capsys, "members", "import", str(env / "m.csv"))
    common = ["--body", "gc", "--kind", "ordinary", "--starts", "2026-01-01T10:00"]
    code, _, err = run(
        capsys, "meeting", "create", *common, "--chair-member", "RABAT", "--title-en", "Only"
    )
    assert code == 2 and "--title-fr" in err and "--title-ar" in err
    assert count(env, "meetings") == 0
    code, out, _ = run(
        capsys,
        "meeting",
        "create",
        *common,
        "--chair-member",
        "RABAT",
        "--title-en",
        "16th General Conference",
        "--title-fr",
        "16e Conférence générale",
        "--title-ar",
        "الدورة السادسة عشرة للمؤتمر العام",
        "--json",
    )
    meeting = json.loads(out)
    assert code == 0 and meeting["title"] == "16th General Conference"
    assert meeting["titles"] == {
        "en": "16th General Conference",
        "fr": "16e Conférence générale",
        "ar": "الدورة السادسة عشرة للمؤتمر العام",
    }
    code, out, _ = run(
        capsys,
        "election",
        "create",
        "--meeting",
        str(meeting["id"]),
        "--type",
        "single",
        "--title",
        "Secretary General",
        "--title-ar",
        "انتخاب الأمين العام",
        "--candidates",
        "A=Ahmed Ali,B=Bushra",
        "--json",
    )
    election = json.loads(out)
    assert code == 0 and election["titles"] == {
        "en": "Secretary General",
        "fr": "Secretary General",
        "ar": "انتخاب الأمين العام",
    }
    with sqlite3.connect(env / "cli.sqlite3") as conn:
        row = conn.execute("SELECT title, title_fr, title_ar FROM elections").fetchone()
    assert row == ("Secretary General", "Secretary General", "انتخاب الأمين العام")
