"""`newsbrief brief`, `newsbrief stories` and `newsbrief demo` as a user runs them, on the seeds."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from bot.cli import app, common
from bot.threads.classify import load_threads


def _invoke(*args: str) -> Result:
    common.reset()
    result = CliRunner().invoke(app, list(args))
    common.reset()
    return result


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A data folder with the seeds ingested once, copied by each test that needs it (ingest is slow)."""
    folder = tmp_path_factory.mktemp("seeded")
    with pytest.MonkeyPatch.context() as patch:
        _isolate(patch, folder)
        assert _invoke("ingest").exit_code == 0
    yield folder / "data"


def _isolate(patch: pytest.MonkeyPatch, folder: Path) -> None:
    patch.chdir(folder)  # no stray .env is read
    patch.setenv("DATA_DIR", str(folder / "data"))
    patch.delenv("LLM_BASE_URL", raising=False)
    patch.delenv("EMBEDDING_MODEL", raising=False)


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    _isolate(monkeypatch, tmp_path)
    yield _invoke
    common.reset()


@pytest.fixture
def seeded(run, ingested: Path, tmp_path: Path):
    shutil.copytree(ingested, tmp_path / "data")
    return run


def test_brief_prints_a_stored_offline_brief_in_each_language(seeded) -> None:
    run = seeded
    arabic = run("brief", "--thread", "russia-dprk", "--lang", "ar")
    assert arabic.exit_code == 0, arabic.output
    assert arabic.output.startswith("روسيا وكوريا الشمالية: موجز")
    assert "لافروف" in arabic.output and "شويغو" in arabic.output and "المصادر" in arabic.output
    english = run("brief", "--thread", "saudi-russia", "--lang", "en", "--json")
    payload = json.loads(english.stdout)
    [story] = payload["stories"]
    assert story["method"] == "keyfacts" and "Arabic sources" in story["note"]
    assert any("$3.28 billion" in b["text"] for b in story["bullets"])
    assert payload["id"] >= 1


def test_brief_markdown_and_since_with_nothing_new(seeded) -> None:
    run = seeded
    markdown = run("brief", "--thread", "saudi-russia", "--lang", "en", "--markdown")
    assert markdown.output.startswith("## Saudi Arabia–Russia: brief of")
    assert "$3\\.28 billion" in markdown.output
    later = run("brief", "--thread", "saudi-russia", "--lang", "en", "--since", "2100-01-01")
    assert later.exit_code == 0
    assert later.output.strip().endswith("Nothing new on Saudi Arabia–Russia since 2100-01-01 00:00 UTC.")


def test_brief_errors_are_one_line_on_stderr(run) -> None:
    unknown = run("brief", "--thread", "china-dprk", "--lang", "en")
    assert unknown.exit_code == 1
    assert "error: no active thread 'china-dprk'" in unknown.output
    bad_since = run("brief", "--thread", "russia-dprk", "--lang", "en", "--since", "soon")
    assert bad_since.exit_code == 1 and "cannot read 'soon'" in bad_since.output
    assert "Traceback" not in unknown.output + bad_since.output


def test_stories_list_and_show(seeded) -> None:
    run = seeded
    listed = json.loads(run("stories", "list", "--thread", "russia-dprk", "--json").stdout)
    assert sorted(len(s["members"]) for s in listed) == [1, 4]
    lavrov = next(s for s in listed if len(s["members"]) == 4)
    shown = run("stories", "show", str(lavrov["id"]))
    assert shown.exit_code == 0
    # The manifest names Báo Thanh Hóa for seed 004; the others carry the source's name.
    assert "lavrov" in shown.output and "outlets (2)" in shown.output
    assert run("stories", "show", "999").exit_code == 1


def test_demo_prints_four_briefs_offline(run) -> None:
    result = run("demo")
    assert result.exit_code == 0, result.output
    assert result.output.count("─" * 72) == 4
    assert "Key facts drawn from Arabic sources" in result.output
    assert "$3.28 billion" in result.output
    for thread in load_threads(Path(__file__).resolve().parents[1] / "seeds" / "threads.toml"):
        assert thread.name_en in result.output and thread.name_ar in result.output
