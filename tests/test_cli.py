"""The `newsbrief` command as a user runs it: JSON output, errors on stderr, audit of admin actions."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import Result

from storage.db import Database
from storage.models import AuditLog

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


@pytest.fixture
def run(cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    monkeypatch.setenv("LLM_API_KEY", "sk-very-secret-key")
    return cli


def test_config_masks_secrets(run) -> None:
    result = run("config", "--json")
    assert result.exit_code == 0
    shown = json.loads(result.stdout)
    assert shown["LLM_API_KEY"] == "********"
    assert "sk-very-secret-key" not in result.output


def test_sources_list_shows_the_seed_folder_with_its_health(run) -> None:
    run("ingest")
    result = run("sources", "list", "--json")
    [seed] = json.loads(result.stdout)
    assert seed["kind"] == "file" and seed["articles"] == 5 and seed["error_count"] == 0
    assert seed["last_success_at"] is not None


def test_articles_list_and_show_print_json(run) -> None:
    run("ingest")
    listed = json.loads(run("articles", "list", "--thread", "saudi-russia", "--json").stdout)
    assert len(listed) == 1
    shown = json.loads(run("articles", "show", str(listed[0]["id"]), "--json").stdout)
    assert shown["lang"] == "ar" and "saudi-russia" in shown["threads"]
    assert shown["threads"]["saudi-russia"]["evidence"]


def test_admin_actions_are_audited(run, tmp_path: Path) -> None:
    folder = tmp_path / "more"
    folder.mkdir()
    (folder / "note.txt").write_text("لافروف في بيونغ يانغ\nزار لافروف بيونغ يانغ.", encoding="utf-8")
    added = run("sources", "add", str(folder), "--name", "Notes")
    assert added.exit_code == 0, added.output
    source_id = json.loads(run("sources", "list", "--json").stdout)[-1]["id"]
    for action in ("pause", "resume", "remove"):
        assert run("sources", action, str(source_id)).exit_code == 0
    database = Database(f"sqlite:///{tmp_path / 'data' / 'newsbrief.db'}")
    with database.session() as session:
        actions = [e.action for e in session.scalars(select(AuditLog).where(AuditLog.actor.like("cli:%")))]
    database.dispose()
    assert actions == ["source.add", "source.pause", "source.resume", "source.remove"]


def test_errors_go_to_stderr_with_a_non_zero_exit(run) -> None:
    result = run("sources", "remove", "999")
    assert result.exit_code != 0
    assert "no source 999" in result.stderr
    assert run("sources", "add", "/no/such/path").exit_code != 0


def test_opml_export_then_import_round_trips(run, tmp_path: Path) -> None:
    opml = tmp_path / "feeds.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>'
        '<outline text="NK News" xmlUrl="https://www.nknews.org/feed/"/></body></opml>',
        encoding="utf-8",
    )
    assert run("sources", "import", str(opml)).exit_code == 0
    exported = run("sources", "export").stdout
    assert "https://www.nknews.org/feed/" in exported


CHINA_DPRK = """
[[threads]]
id = "china-dprk"
name_en = "China–North Korea"
name_ar = "الصين وكوريا الشمالية"

[[threads.groups]]
id = "china"
name_en = "China"
name_ar = "الصين"
entities = [{ id = "china", name_en = "China", name_ar = "الصين", aliases = ["الصين", "بكين", "China", "Beijing"] }]

[[threads.groups]]
id = "dprk"
name_en = "North Korea"
name_ar = "كوريا الشمالية"
entities = [
  { id = "dprk", name_en = "North Korea", name_ar = "كوريا الشمالية", aliases = ["كوريا الشمالية", "North Korea", "Pyongyang"] },
]
"""


def test_an_admin_adds_a_third_thread_without_a_release(run, tmp_path: Path) -> None:
    folder = tmp_path / "china"
    folder.mkdir()
    (folder / "xi.txt").write_text(
        "China and North Korea pledge closer ties\n\nChina told North Korea on Sunday that Beijing wants deeper "
        "cooperation. North Korea thanked China for its support.",
        encoding="utf-8",
    )
    assert run("sources", "add", str(folder)).exit_code == 0
    run("ingest")
    definition = tmp_path / "china.toml"
    definition.write_text(CHINA_DPRK, encoding="utf-8")
    added = run("threads", "add", str(definition))
    assert added.exit_code == 0, added.output
    assert "china-dprk" in {t["id"] for t in json.loads(run("threads", "list", "--json").stdout)}
    placed = json.loads(run("articles", "list", "--thread", "china-dprk", "--json").stdout)
    assert "China and North Korea pledge closer ties" in [a["title"] for a in placed]
    russia_dprk = json.loads(run("articles", "list", "--thread", "russia-dprk", "--json").stdout)
    assert "China and North Korea pledge closer ties" not in [a["title"] for a in russia_dprk]
    assert run("threads", "add", str(tmp_path / "missing.toml")).exit_code != 0
