"""Memory at rest: `newsbrief run` with the seeds ingested, VmHWM (peak RSS) after start-up.

Run: python bench/memory.py [--settle 20] [--runs 1]
The seeds are ingested first (`newsbrief ingest`, the default settings: local embedder on), then
`newsbrief run` starts with Telegram and Slack configured against the local stand-ins (tests/servers/),
then with no chat platform, then with EMBEDDER=none; once /healthz answers 200 and the start-up jobs
have had --settle seconds, VmHWM and VmRSS are read from /proc/PID/status. `python -c "import typer"` is
measured as a baseline in the same run.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.slack import BOT_TOKEN, SIGNING_SECRET  # noqa: E402
from bench.startup import newsbrief  # noqa: E402
from tests.servers.slack_stub import SlackStub  # noqa: E402
from tests.servers.telegram_stub import TOKEN, TelegramStub  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def status(pid: int) -> dict[str, float]:
    """VmHWM and VmRSS of `pid`, in MiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            values[key] = int(rest.split()[0]) / 1024
    return values


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def at_rest(env: dict[str, str], settle: float) -> tuple[dict[str, float], float]:
    """Start `newsbrief run`, wait for /healthz and `settle` seconds; its memory and its start-up time."""
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [*newsbrief(), "run", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        while not healthy(port):
            if process.poll() is not None:
                raise SystemExit(f"newsbrief run exited: {process.stderr.read().decode()[-800:]}")
            if time.perf_counter() - started > 120:
                raise SystemExit("newsbrief run did not answer /healthz within 120 s")
            time.sleep(0.2)
        ready = time.perf_counter() - started
        time.sleep(settle)
        return status(process.pid), ready
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settle", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DATA_DIR": str(Path(tmp) / "data"), "MALLOC_ARENA_MAX": "2"}
        for name in ("EMBEDDER", "EMBEDDING_MODEL", "LLM_BASE_URL", "TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN"):
            env.pop(name, None)
        subprocess.run([*newsbrief(), "ingest"], env=env, check=True, capture_output=True)
        base = subprocess.run(
            # VmHWM, not ru_maxrss: a child's ru_maxrss counts the parent's pages it was forked with.
            [
                sys.executable,
                "-c",
                "import typer, re; print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1])",
            ],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        print(
            f"newsbrief run at rest (seeds ingested, {args.settle:.0f} s after /healthz; "
            f"median of {args.runs}); baseline python -c 'import typer': {int(base.stdout) / 1024:.0f} MiB"
        )
        with TelegramStub(record_calls=False) as telegram, SlackStub() as slack:
            chats = {
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "TELEGRAM_BASE_URL": telegram.base_url,
                "TELEGRAM_BASE_FILE_URL": telegram.base_file_url,
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": slack.api_url,
            }
            for label, extra in (
                ("default settings, Telegram and Slack (stand-ins)", chats),
                ("default settings, no chat configured", {}),
                ("EMBEDDER=none, no chat configured", {"EMBEDDER": "none"}),
            ):
                runs = [at_rest({**env, **extra}, args.settle) for _ in range(args.runs)]
                hwm = statistics.median(r[0]["VmHWM"] for r in runs)
                rss = statistics.median(r[0]["VmRSS"] for r in runs)
                ready = statistics.median(r[1] for r in runs)
                target = " (target <= 250 MiB)" if extra is chats else ""
                print(
                    f"  {label}: VmHWM {hwm:.0f} MiB{target}, VmRSS {rss:.0f} MiB; /healthz after {ready:.1f} s"
                )


if __name__ == "__main__":
    main()
