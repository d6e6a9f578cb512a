"""bench/soak.py, run for a few seconds so the script cannot rot: every kind of work happens, nothing fails."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_a_short_soak_ingests_answers_and_delivers_on_both_platforms_with_no_unexplained_error() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "soak.py"), "--minutes", "0.1", "--warmup", "0", "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=110,
    )
    assert result.stdout, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["errors"]["other"] == 0, report["errors"]["first other"]
    ops = report["operations"]
    assert ops["articles stored"] > 0
    assert all(n > 0 for n in ops["questions asked (slack, telegram)"])
    assert ops["questions answered"] == sum(ops["questions asked (slack, telegram)"])
    assert all(n > 0 for n in ops["briefs delivered (telegram, slack)"])
    assert all(n > 0 for n in ops["messages sent (telegram, slack)"])
    left = {status: n for status, n in ops["outbox at the end"].items() if status != "sent" and n}
    assert left == {}  # nothing failed, nothing still pending, no due subscription skipped
    assert report["rss_mb"]["end"] > 0  # sampled; the growth target is for the ten-minute run, not this one
