"""Slack under load: 200 signed mentions, 50 at a time, against our app served on 127.0.0.1.

Prints the acknowledgement latency (p50, p99; target p99 <= 300 ms with offline answers), answers per
second, loss (every mention answered exactly once) and peak RSS. The app runs as in production:
`newsbrief run` in its own process (our Starlette app under uvicorn, Bolt checking every signature),
the Slack Web API stand-in and the load generator in this one.

    python bench/slack.py [--mentions 200] [--concurrency 50] [--channels 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from bot.app import build_context  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.runtime.ingest_cycle import ingest_due  # noqa: E402
from tests.servers.slack_stub import BOT_TOKEN, BOT_USER_ID, SIGNING_SECRET, SlackSide, SlackStub  # noqa: E402

QUESTIONS = (
    "Where did Lavrov meet Kim Jong Un?",
    "How many visitors is the Wonsan-Kalma resort expected to receive?",
    "كم بلغت التجارة غير النفطية بين السعودية وروسيا في 2024؟",
    "من هو وزير الصناعة والثروة المعدنية السعودي؟",
    "What did Lavrov say about North Korea's nuclear programme?",
)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of `values`, by the nearest-rank method."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def peak_rss_mb(pid: int) -> float:
    """A process's peak resident set size (VmHWM) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_bot(
    data_dir: Path,
    stub: SlackStub,
    port: int,
    *,
    env: dict[str, str] | None = None,
    stderr: int | None = None,
) -> subprocess.Popen[bytes]:
    """`newsbrief run` in its own process, configured for Slack in HTTP mode against the stub.

    `env` adds or overrides settings (e.g. Telegram and an LLM for the soak); `stderr` may be a pipe.
    """
    environment = dict(os.environ)
    environment.update(
        DATA_DIR=str(data_dir),
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=stub.api_url,
        QA_RATE_LIMIT="0",
        TELEGRAM_BOT_TOKEN="",
        LLM_BASE_URL="",
        LOG_LEVEL="WARNING",
    )
    environment.update(env or {})
    command = [sys.executable, "-c", "from bot.cli import main; main()", "run", "--port", str(port)]
    return subprocess.Popen(command, env=environment, cwd=data_dir, preexec_fn=_bot_core, stderr=stderr)


def _bot_core() -> None:
    # The bot gets a core of its own; the load generator and the Slack stand-in share the other,
    # so their work does not count against the bot's acknowledgement latency.
    count = os.cpu_count() or 1
    if count > 1:
        os.sched_setaffinity(0, {count - 1})


async def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    """Poll /healthz until the bot answers."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"newsbrief run exited with {process.returncode}")
            try:
                if (await client.get(url + "/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("newsbrief run did not become healthy")


async def run(mentions: int, concurrency: int, channels: int) -> int:
    """Send the mentions, wait for every answer, print the figures; the exit status (1 on any loss)."""
    with tempfile.TemporaryDirectory() as tmp, SlackStub() as stub:
        data_dir = Path(tmp)
        ctx = build_context(Settings(_env_file=None, data_dir=data_dir))
        await ingest_due(ctx, force=True)
        ctx.db.dispose()
        port = free_port()
        process = start_bot(data_dir, stub, port)
        try:
            url = f"http://127.0.0.1:{port}"
            await wait_healthy(url, process)
            side = SlackSide(url + "/slack/events", stub)
            latencies: list[float] = []
            limit = asyncio.Semaphore(concurrency)

            async def one(n: int) -> None:
                event = {
                    "type": "app_mention",
                    "user": f"U{n:04d}",
                    "text": f"<@{BOT_USER_ID}> {QUESTIONS[n % len(QUESTIONS)]}",
                    "ts": f"{1000 + n}.000100",
                    "channel": f"C{n % channels:04d}",
                }
                async with limit:
                    started = time.perf_counter()
                    response = await side.event(event, event_id=f"EvB{n}")
                    latencies.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise RuntimeError(f"mention {n} got HTTP {response.status_code}")

            # Warm-up: auth.test and the embedding model load on the first question, as after a deploy.
            await one(-1)
            await stub.wait_for(lambda: len(stub.posts()) >= 1, timeout=120)
            before = len(stub.posts())
            latencies.clear()
            started = time.perf_counter()
            await asyncio.gather(*(one(n) for n in range(mentions)))
            acked = time.perf_counter() - started
            await stub.wait_for(lambda: len(stub.posts()) - before >= mentions, timeout=600)
            elapsed = time.perf_counter() - started
            await asyncio.sleep(1.0)  # anything posted twice would show up now
            rss = peak_rss_mb(process.pid)
            await side.close()
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
        answered = Counter(p["thread_ts"] for p in stub.posts()[before:])
    expected = {f"{1000 + n}.000100" for n in range(mentions)}
    lost = expected - set(answered)
    doubled = [ts for ts, count in answered.items() if count > 1]
    print(f"mentions: {mentions}, {concurrency} at a time, {channels} channel(s), offline answers")
    print(
        f"ack latency: p50 {percentile(latencies, 50):.1f} ms, p99 {percentile(latencies, 99):.1f} ms, "
        f"max {max(latencies):.1f} ms, mean {statistics.mean(latencies):.1f} ms (target p99 <= 300 ms); "
        f"all acknowledged in {acked:.2f} s"
    )
    print(f"answers: {mentions / elapsed:.1f}/s ({mentions} in {elapsed:.2f} s)")
    print(f"loss: {len(lost)} lost, {len(doubled)} answered twice; exit status {process.returncode}")
    print(f"peak RSS of newsbrief run: {rss:.0f} MB")
    return 1 if lost or doubled else 0


def main() -> None:
    count = os.cpu_count() or 1
    if count > 1:  # the last core is the bot's (see _bot_core)
        os.sched_setaffinity(0, set(range(count - 1)))
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mentions", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--channels", type=int, default=200, help="channels the mentions are spread over")
    args = parser.parse_args()
    raise SystemExit(asyncio.run(run(args.mentions, args.concurrency, args.channels)))


if __name__ == "__main__":
    main()
