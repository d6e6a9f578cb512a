"""bench/run_all.py rewrites only the raw sections it reran, never the summary written by hand."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]


def run_all() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_all", REPO / "bench" / "run_all.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_summary_and_the_sections_not_rerun_survive_a_partial_run() -> None:
    module = run_all()
    text = (
        "# Benchmark figures\n\n| area | figure |\n|---|---|\n| ingestion | 260/s |\n\n"
        f"{module.MARKER}\n\n## ingest\n\nold ingest\n\n## soak\n\nold soak\n"
    )
    summary, sections = module.split(text)
    assert "| ingestion | 260/s |" in summary and module.MARKER not in summary
    assert sections == {"ingest": "## ingest\n\nold ingest\n", "soak": "## soak\n\nold soak\n"}


def test_the_project_benchmarks_file_has_its_summary_above_the_marker() -> None:
    module = run_all()
    summary, sections = module.split((REPO / "docs" / "benchmarks.md").read_text(encoding="utf-8"))
    assert "| area | figure | target | result |" in summary
    assert "soak" in sections
