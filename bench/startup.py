"""Start-up: how long a command takes before it answers, beside `python -c "import typer"` in the same run.

Run: python bench/startup.py [--runs 3]
Each figure is the median of --runs fresh processes (wall time and that process's peak RSS) on a demo
database built first with the default settings (local embedder on). `ask` is measured cold (a new
process, as a person typing it) and warm (the same question asked again in one long-lived context, as
in a running bot).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

QUESTION = "متى التقى لافروف كيم جونغ أون؟"
TARGETS = {"--help": "≤ 3× baseline", "articles list": "≤ 0.5 s", "sources list": "≤ 0.5 s", "ask": "≤ 1.5 s"}


def newsbrief() -> list[str]:
    script = shutil.which("newsbrief", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-c", "from bot.cli import main; main()"]


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(
            f"{' '.join(argv)} failed: {process.stderr.read().decode()[-500:] if process.stderr else ''}"
        )
    return elapsed, usage.ru_maxrss / 1024


def median_of(argv: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    samples = [timed(argv, env) for _ in range(runs)]
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def warm_ask(data_dir: Path, runs: int) -> tuple[float, float]:
    """Median and max seconds of one question in a context that has answered before (a running bot)."""
    os.environ["DATA_DIR"] = str(data_dir)
    from bot.app import build_context
    from bot.qa import answer_question

    ctx = build_context()
    answer_question(ctx, QUESTION)  # the first one loads the embedder and the dense matrix
    samples = []
    for _ in range(max(runs, 5)):
        started = time.perf_counter()
        answer_question(ctx, QUESTION)
        samples.append(time.perf_counter() - started)
    ctx.db.dispose()
    return statistics.median(samples), max(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        env = {**os.environ, "DATA_DIR": str(data), "QA_RATE_LIMIT": "0"}
        env.pop("EMBEDDER", None)  # the default configuration, as a user who keeps it gets it
        subprocess.run([*newsbrief(), "demo"], env=env, check=True, capture_output=True)
        base, base_rss = median_of([sys.executable, "-c", "import typer"], env, args.runs)
        print(f"baseline: python -c 'import typer': {base:.3f} s, {base_rss:.0f} MiB (median of {args.runs})")
        for command in ("--help", "articles list", "sources list"):
            seconds, rss = median_of([*newsbrief(), *command.split()], env, args.runs)
            print(
                f"newsbrief {command}: {seconds:.3f} s ({seconds / base:.1f}× baseline), {rss:.0f} MiB"
                f"  target {TARGETS[command]}"
            )
        seconds, rss = median_of([*newsbrief(), "ask", QUESTION], env, args.runs)
        print(
            f"newsbrief ask (cold): {seconds:.3f} s ({seconds / base:.1f}× baseline), {rss:.0f} MiB  target ≤ 1.5 s"
        )
        median, worst = warm_ask(data, args.runs)
        print(
            f"ask in a running bot (warm): median {median * 1000:.0f} ms, max {worst * 1000:.0f} ms  target ≤ 150 ms"
        )


if __name__ == "__main__":
    main()
