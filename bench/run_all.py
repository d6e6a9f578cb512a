"""Run the benchmarks and write what each printed into docs/benchmarks.md, below its summary table.

    python bench/run_all.py [--only ingest briefs ...] [--soak-minutes 10]

Each script runs in its own process, one after the other (they share this machine's cores).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
BENCHES = {
    "startup": "start-up of commands beside `import typer`, cold and warm ask (issue 13: speed a user feels)",
    "encoding": "charset decoding on feedparser's and Miniflux's encoding suites, beside feedparser (issue 16)",
    "ingest": "ingestion: article pipeline, as deployed (embedder on, beside none), refresh cycle, a 20,000-entry feed beside 100 normal ones, page extraction (issues: foundation, 13)",
    "qa_devset": "Q&A accuracy on the labelled dev set, offline answers, default embedder (issue 13)",
    "memory": "`newsbrief run` at rest with the seeds ingested: VmHWM (issue 13)",
    "embedders": "the two local embedding models compared (issue: stories and briefs)",
    "briefs": "clustering, offline briefs, LLM economy (issue: stories and briefs)",
    "qa": "passage index, retrieval latency, offline answers (issue: questions)",
    "broadcast": "Telegram delivery: paced and unlimited broadcast, reply latency during one (issues: Telegram, 17)",
    "slack": "Slack acknowledgement latency, answers per second, loss (issue: Slack)",
    "scale": "several processes on one PostgreSQL: delivery and ingest throughput (issue: scale-out)",
    "soak": "ingest, questions and deliveries together, with injected faults: errors and RSS (issue 8: Soak)",
}


def run(name: str, options: list[str]) -> tuple[str, float]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / f"{name}.py"), *options],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    output = result.stdout.strip()
    if (
        name == "soak" and output
    ):  # its figures come as JSON; the section shows them as the script prints them
        from bench.soak import format_report

        output = format_report(json.loads(output))
    if result.returncode and not (name == "soak" and output):  # the soak exits 1 on FAIL, which it prints
        output += f"\n(exit status {result.returncode})\n{result.stderr.strip()[-2000:]}"
    return output, time.perf_counter() - started


MARKER = "<!-- Below: raw output, written by bench/run_all.py; the summary above is kept as it is. -->"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--only", nargs="*", choices=sorted(BENCHES), default=sorted(BENCHES, key=list(BENCHES).index)
    )
    parser.add_argument("--soak-minutes", type=float, default=10.0, help="how long bench/soak.py runs")
    args = parser.parse_args()
    target = REPO / "docs" / "benchmarks.md"
    summary, sections = split(target.read_text(encoding="utf-8") if target.exists() else "")
    for name in args.only:
        options = ["--minutes", f"{args.soak_minutes:g}", "--json"] if name == "soak" else []
        output, seconds = run(name, options)
        print(f"{name}: {seconds:.0f} s", flush=True)
        command = " ".join([f"python bench/{name}.py", *options[:2]])
        sections[name] = (
            f"## {name}\n\n{BENCHES[name]}. Command: `{command}`. Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC "
            f"on {platform.machine()}, Python {platform.python_version()}, {len(os.sched_getaffinity(0))} cores.\n\n"
            f"```\n{output}\n```\n"
        )
    ordered = [sections[name] for name in BENCHES if name in sections]
    target.write_text(f"{summary.rstrip()}\n\n{MARKER}\n\n" + "\n".join(ordered), encoding="utf-8")


def split(text: str) -> tuple[str, dict[str, str]]:
    """The hand-written summary, and the raw sections by bench name (only the benches rerun are replaced)."""
    summary, _, raw = text.partition(MARKER)
    sections: dict[str, str] = {}
    for chunk in raw.split("\n## ")[1:]:
        name = chunk.split("\n", 1)[0].strip()
        if name in BENCHES:
            sections[name] = "## " + chunk.strip() + "\n"
    return summary or "# Benchmark figures\n", sections


if __name__ == "__main__":
    main()
