"""`/newsbrief` over real signed HTTP: every subcommand, the admin ones refused to others, and buttons."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from storage.models import AuditLog, QALog, Source, Subscription
from tests.servers.slack_stub import SlackHarness
from tests.servers.web import WebServer

ADMIN, READER, CHANNEL = "UADMIN", "UREADER", "C0NEWS"


def text_of(bodies: list[dict[str, Any]]) -> str:
    return json.dumps(bodies, ensure_ascii=False)


async def command(harness: SlackHarness, text: str, *, user: str = READER) -> tuple[dict[str, Any], str]:
    """Run a subcommand; its acknowledgement body (empty when none) and its response_url name."""
    response, name = await harness.slack.command(text, user=user, channel=CHANNEL)
    assert response.status_code == 200
    await harness.settle()
    if not response.content:
        return {}, name
    is_json = response.headers.get("content-type", "").startswith("application/json")
    return (response.json() if is_json else {"text": response.text}), name


def audits(harness: SlackHarness) -> list[AuditLog]:
    with harness.ctx.db.session() as session:
        return list(
            session.scalars(select(AuditLog).where(AuditLog.actor.like("slack:%")).order_by(AuditLog.id))
        )


def sources(harness: SlackHarness) -> list[Source]:
    with harness.ctx.db.session() as session:
        return list(session.scalars(select(Source).order_by(Source.id)))


async def test_help_lists_the_subcommands(slack: SlackHarness) -> None:
    ack, _ = await command(slack, "help")
    assert "subscribe" in ack["text"] and "ask" in ack["text"]
    assert ack.get("response_type", "ephemeral") == "ephemeral"


async def test_unknown_subcommand_points_to_help(slack: SlackHarness) -> None:
    ack, _ = await command(slack, "dance")
    assert "dance" in ack["text"] and "/newsbrief help" in ack["text"]


async def test_brief_is_shared_in_the_channel(slack: SlackHarness) -> None:
    ack, name = await command(slack, "brief russia-dprk en")
    assert "Working" in ack["text"]
    [reply] = slack.stub.responses(name)
    assert reply["response_type"] == "in_channel"
    assert reply["blocks"][0]["type"] == "header"
    assert "Russia" in reply["blocks"][0]["text"]["text"]
    assert any(block["type"] == "context" for block in reply["blocks"])


async def test_brief_of_an_unknown_thread_is_refused_with_the_known_ones(slack: SlackHarness) -> None:
    ack, name = await command(slack, "brief china-dprk")
    assert "china-dprk" in ack["text"] and "russia-dprk" in ack["text"]
    assert slack.stub.responses(name) == []


async def test_ask_answers_in_the_channel_with_feedback_buttons(slack: SlackHarness) -> None:
    _, name = await command(slack, "ask Where did Lavrov meet Kim Jong Un?")
    [reply] = slack.stub.responses(name)
    assert reply["response_type"] == "in_channel"
    assert "وونسان" in text_of([reply])
    assert reply["blocks"][-1]["type"] == "actions"


async def test_feedback_buttons_store_the_rating_on_the_answer(slack: SlackHarness) -> None:
    await command(slack, "ask Where did Lavrov meet Kim Jong Un?")
    with slack.ctx.db.session() as session:
        log_id = session.scalars(select(QALog.id)).one()
    response, name = await slack.slack.press("feedback_down", str(log_id), user=READER, channel=CHANNEL)
    assert response.status_code == 200
    await slack.settle()
    with slack.ctx.db.session() as session:
        assert session.get(QALog, log_id).feedback == -1
    assert "Thanks" in text_of(slack.stub.responses(name))
    await slack.slack.press("feedback_up", str(log_id), user=READER, channel=CHANNEL)
    await slack.settle()
    with slack.ctx.db.session() as session:
        assert session.get(QALog, log_id).feedback == 1


async def test_subscribe_and_unsubscribe_the_channel(slack: SlackHarness) -> None:
    _, name = await command(slack, "subscribe russia-dprk ar 07:30 Asia/Riyadh")
    assert "07:30" in text_of(slack.stub.responses(name))
    with slack.ctx.db.session() as session:
        [row] = session.scalars(select(Subscription)).all()
        assert (row.platform, row.chat_id, row.thread_id, row.lang) == ("slack", CHANNEL, "russia-dprk", "ar")
        assert (row.deliver_at, row.timezone, row.active) == ("07:30", "Asia/Riyadh", True)
    _, name = await command(slack, "unsubscribe")
    assert "stopped" in text_of(slack.stub.responses(name))
    with slack.ctx.db.session() as session:
        assert not session.scalars(select(Subscription)).one().active


async def test_subscribe_with_a_bad_zone_says_why(slack: SlackHarness) -> None:
    _, name = await command(slack, "subscribe russia-dprk en 07:30 Mars/Olympus")
    assert "Mars/Olympus" in text_of(slack.stub.responses(name))
    with slack.ctx.db.session() as session:
        assert session.scalars(select(Subscription)).all() == []


async def test_sources_lists_what_is_followed(slack: SlackHarness) -> None:
    _, name = await command(slack, "sources")
    listing = text_of(slack.stub.responses(name))
    assert "#1" in listing and "Seed articles" in listing
    assert "errors" not in listing  # health is for admins
    _, name = await command(slack, "sources", user=ADMIN)
    assert "errors 0" in text_of(slack.stub.responses(name))


async def test_lang_switches_the_interface_to_arabic(slack: SlackHarness) -> None:
    ack, _ = await command(slack, "lang ar")
    assert "بالعربية" in ack["text"]
    ack, _ = await command(slack, "help")
    assert "الأوامر" in ack["text"]  # the help, now in Arabic


async def test_non_admin_source_add_is_refused_and_audited(
    slack: SlackHarness, web_server: WebServer
) -> None:
    url = web_server.add("/feed.xml", b"<rss/>", content_type="application/rss+xml")
    before = [s.id for s in sources(slack)]
    ack, name = await command(slack, f"source add {url} russia-dprk")
    assert "administrators only" in ack["text"]
    assert slack.stub.responses(name) == []
    assert web_server.requests == []  # not even previewed
    assert [s.id for s in sources(slack)] == before
    [entry] = audits(slack)
    assert (entry.actor, entry.action, entry.allowed) == ("slack:UREADER", "source.add", False)


async def test_non_admin_cannot_pause_or_see_stats(slack: SlackHarness) -> None:
    ack, _ = await command(slack, "source pause 1")
    assert "administrators only" in ack["text"]
    ack, _ = await command(slack, "stats")
    assert "administrators only" in ack["text"]
    assert not sources(slack)[0].paused
    assert [(a.action, a.allowed) for a in audits(slack)] == [("source.pause", False), ("stats", False)]


FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Pyongyang Watch</title><link>{base}/</link><description>x</description>
<item><title>Lavrov meets Kim Jong Un in Wonsan</title><link>{base}/a1</link><guid>{base}/a1</guid>
<pubDate>Sat, 12 Jul 2025 09:00:00 GMT</pubDate>
<description>Russian Foreign Minister Sergei Lavrov met North Korean leader Kim Jong Un in Wonsan on Saturday.
Lavrov said Moscow understands Pyongyang's nuclear programme and praised close ties between Russia and
North Korea. The two sides discussed cooperation, trade and the war in Ukraine during the visit.</description>
</item></channel></rss>"""

PAGE = """<html><head><title>Lavrov meets Kim Jong Un in Wonsan</title></head><body><article>
<h1>Lavrov meets Kim Jong Un in Wonsan</h1>
<p>Russian Foreign Minister Sergei Lavrov met North Korean leader Kim Jong Un in Wonsan on Saturday.</p>
<p>Lavrov said Moscow understands Pyongyang's nuclear programme and praised close ties between Russia and
North Korea. The two sides discussed cooperation, trade and the war in Ukraine during the visit.</p>
</article></body></html>"""


async def test_admin_adds_a_source_after_a_preview_and_confirmation(
    slack: SlackHarness, web_server: WebServer
) -> None:
    web_server.add("/a1", PAGE.encode(), content_type="text/html; charset=utf-8")
    url = web_server.add(
        "/feed.xml", FEED.format(base=web_server.base_url).encode(), content_type="application/rss+xml"
    )
    _, name = await command(slack, f"source add <{url}> russia-dprk", user=ADMIN)
    [preview] = slack.stub.responses(name)
    assert "Pyongyang Watch" in preview["text"] and "feed" in preview["text"]
    assert "russia-dprk (1)" in preview["text"]
    assert url not in [s.location for s in sources(slack)]  # nothing added before the confirmation
    confirm = next(b for b in preview["blocks"][1]["elements"] if b["action_id"] == "source_confirm")

    _, refused = await slack.slack.press("source_confirm", confirm["value"], user=READER, channel=CHANNEL)
    await slack.settle()
    assert "administrators only" in text_of(slack.stub.responses(refused))
    assert url not in [s.location for s in sources(slack)]

    _, pressed = await slack.slack.press("source_confirm", confirm["value"], user=ADMIN, channel=CHANNEL)
    await slack.settle()
    [added] = [s for s in sources(slack) if s.location == url]
    assert (added.kind, added.threads, added.added_by) == ("feed", ["russia-dprk"], "slack:UADMIN")
    assert f"#{added.id}" in text_of(slack.stub.responses(pressed))
    assert [(a.actor, a.action, a.allowed) for a in audits(slack)] == [
        ("slack:UADMIN", "source.preview", True),
        ("slack:UREADER", "source.add", False),
        ("slack:UADMIN", "source.add", True),
    ]


async def test_admin_pauses_resumes_and_removes_a_source(slack: SlackHarness) -> None:
    source_id = sources(slack)[0].id
    _, name = await command(slack, f"source pause {source_id}", user=ADMIN)
    assert sources(slack)[0].paused and "paused" in text_of(slack.stub.responses(name))
    await command(slack, f"source resume {source_id}", user=ADMIN)
    assert not sources(slack)[0].paused
    _, name = await command(slack, f"source remove {source_id}", user=ADMIN)
    assert sources(slack) == [] and "removed" in text_of(slack.stub.responses(name))
    _, name = await command(slack, "source remove 999", user=ADMIN)
    assert "no source 999" in text_of(slack.stub.responses(name))
    assert [a.action for a in audits(slack)] == ["source.pause", "source.resume", "source.remove"]


async def test_admin_stats(slack: SlackHarness) -> None:
    await command(slack, "subscribe russia-dprk en 08:00 UTC")
    _, name = await command(slack, "stats", user=ADMIN)
    stats = text_of(slack.stub.responses(name))
    assert "Subscriptions: 1 (Slack 1, Telegram 0)" in stats
    assert "LLM today: 0 calls" in stats
