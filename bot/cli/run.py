"""`newsbrief run` (the long-running process) and the one-shot delivery commands."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

import typer

from bot.cli import common
from bot.cli.common import emit_json

if TYPE_CHECKING:
    from bot.context import Context

subscriptions_app = typer.Typer(help="Chat subscriptions to daily briefs.", no_args_is_help=True)


def run_command(
    port: int = typer.Option(None, "--port", help="web server port (default HTTP_PORT)"),
    role: str = typer.Option(
        "all",
        "--role",
        help="all; web (webhooks, Slack events, health); worker (scheduler, delivery, ingest)",
    ),
) -> None:
    """Run the bot: scheduler, delivery, web server (/healthz, webhooks) and the configured chat adapters."""
    import asyncio

    from bot.app import configure_logging
    from bot.runtime.memory import tune_allocator
    from bot.runtime.runner import ROLES, RunError, serve

    tune_allocator()  # before any thread starts: a long-running process's memory stays flat
    with common.user_errors(RunError):
        if role not in ROLES:
            raise RunError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
        ctx = common.context()
        configure_logging(ctx.settings)
        asyncio.run(serve(ctx, port=port, role=role))  # type: ignore[arg-type]


def deliver_command(
    send: bool = typer.Option(True, "--send/--no-send", help="also send what is pending"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Build the due briefs, write their outbox rows, and send everything pending once."""
    import asyncio

    from bot.delivery.outbox import enqueue_due

    ctx = common.context()
    created = enqueue_due(ctx)
    report: dict[str, object] = {"enqueued": len(created)}
    if send:
        report.update(asyncio.run(_send_pending(ctx)))
    if as_json:
        emit_json(report)
        return
    typer.echo(", ".join(f"{key}: {value}" for key, value in report.items()))


async def _send_pending(ctx: Context) -> dict[str, object]:
    from bot.chat.senders import configured_senders
    from bot.delivery import outbox
    from bot.delivery.worker import DeliveryWorker

    if ctx.db.is_sqlite:
        outbox.release_all_leases(ctx)  # the only process on SQLite: nothing else is sending
    report: dict[str, object] = {}
    async with configured_senders(ctx) as senders:
        for sender in senders:  # every configured platform's rows, each at its own pace
            worker = DeliveryWorker(ctx, sender)
            await worker.run_once()
            report[sender.platform] = asdict(worker.stats)
    return report


@subscriptions_app.command("list")
def subscriptions_list(
    platform: str = typer.Option(None, "--platform", help="telegram or slack"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """The active subscriptions and their next due time (UTC)."""
    from bot.delivery.subscriptions import list_subscriptions

    ctx = common.context()
    with ctx.db.session() as session:
        views = list_subscriptions(session, platform=platform)
    if as_json:
        emit_json([asdict(v) for v in views])
        return
    for v in views:
        due = v.next_due_at.strftime("%Y-%m-%d %H:%M UTC") if v.next_due_at else "-"
        typer.echo(
            f"#{v.id} {v.platform}:{v.chat_id} {v.thread_id} {v.lang} {v.deliver_at} {v.timezone} next {due}"
        )
    typer.echo(f"{len(views)} subscription(s)")
