"""A Slack channel subscribed with the slash command gets corroborated alerts, with a link to the story page."""

from __future__ import annotations

from bot.delivery.worker import deliver_once
from bot.reader import alerts
from bot.reader.chat_settings import change_setting
from tests.servers.slack_stub import SlackHarness
from tests.test_reader_alerts import reported

CHANNEL = "C0CHANNEL"


async def test_a_slack_channel_gets_an_alert_once_with_a_link_to_the_story(slack: SlackHarness) -> None:
    slack.ctx.settings.public_base_url = "https://news.example"
    await slack.slack.command("subscribe russia-dprk en 08:00 Asia/Riyadh", user="UBOB", channel=CHANNEL)
    await slack.settle()
    with slack.ctx.db.session() as session:  # what the core's `/newsbrief settings alerts on` will call
        change_setting(session, "alerts on", platform="slack", chat_id=CHANNEL, now=slack.ctx.now())
    alerts.scan(slack.ctx)  # whatever the archive already held is alerted (or not) once, now
    await deliver_once(slack.ctx, slack.adapter.sender, limits=slack.adapter.limits)
    before = len(slack.stub.posts(CHANNEL))
    story_id = reported(slack.ctx, "Channel alert about Shoigu", ["a.example", "b.example"])
    assert story_id in alerts.scan(slack.ctx).alerted
    await deliver_once(slack.ctx, slack.adapter.sender, limits=slack.adapter.limits)
    posts = slack.stub.posts(CHANNEL)[before:]
    assert len(posts) == 1
    assert posts[0]["blocks"][0]["text"]["text"].startswith("Alert: ")
    assert f"https://news.example/stories/{story_id}.en" in str(posts[0]["blocks"])
    alerts.scan(slack.ctx)
    await deliver_once(slack.ctx, slack.adapter.sender, limits=slack.adapter.limits)
    assert len(slack.stub.posts(CHANNEL)) == before + 1  # once
