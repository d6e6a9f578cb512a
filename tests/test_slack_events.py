"""Slack events over real signed HTTP: the challenge, mentions, follow-ups, DMs, retries, forged requests."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import select

from storage.models import ProcessedEvent, QALog
from tests.servers.slack_stub import BOT_USER_ID, SlackHarness, SlackStub, event_body, signed_headers

CHANNEL = "C0GENERAL"


def mention(text: str, *, ts: str, user: str = "UALICE", thread_ts: str | None = None) -> dict[str, Any]:
    event = {
        "type": "app_mention",
        "user": user,
        "text": f"<@{BOT_USER_ID}> {text}",
        "ts": ts,
        "channel": CHANNEL,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def all_text(post: dict[str, Any]) -> str:
    """Every piece of text in a posted message, blocks included."""
    return json.dumps(post, ensure_ascii=False)


def qa_rows(harness: SlackHarness) -> list[QALog]:
    with harness.ctx.db.session() as session:
        return list(session.scalars(select(QALog).order_by(QALog.id)))


async def test_url_verification_challenge_is_echoed(slack: SlackHarness) -> None:
    body = json.dumps({"token": "legacy", "challenge": "c-123", "type": "url_verification"}).encode()
    response = await slack.slack.send(body, "application/json")
    assert response.status_code == 200
    assert response.json() == {"challenge": "c-123"}


async def test_mention_is_answered_in_its_thread_with_sources(slack: SlackHarness) -> None:
    response = await slack.slack.event(
        mention("Where did Lavrov meet Kim Jong Un?", ts="100.1"), event_id="Ev1"
    )
    assert response.status_code == 200
    await slack.stub.wait_for(lambda: len(slack.stub.posts(CHANNEL)) >= 1)
    await slack.settle()
    [post] = slack.stub.posts(CHANNEL)
    assert post["thread_ts"] == "100.1"
    text = all_text(post)
    assert "وونسان" in text
    kinds = [block["type"] for block in post["blocks"]]
    assert kinds[0] == "section" and "context" in kinds and kinds[-1] == "actions"
    assert "[1]" in text and "Seed articles" in text
    assert "As of" in text
    [row] = qa_rows(slack)
    assert row.conversation_id == f"{CHANNEL}:100.1"
    assert row.user == "slack:UALICE"
    buttons = post["blocks"][-1]["elements"]
    assert [(b["action_id"], b["value"]) for b in buttons] == [
        ("feedback_up", str(row.id)),
        ("feedback_down", str(row.id)),
    ]


async def test_follow_up_in_the_thread_resolves_he(slack: SlackHarness) -> None:
    await slack.slack.event(mention("Where did Lavrov meet Kim Jong Un?", ts="200.1"), event_id="Ev10")
    await slack.stub.wait_for(lambda: len(slack.stub.posts(CHANNEL)) == 1)
    await slack.settle()
    follow_up = {
        "type": "message",
        "channel_type": "channel",
        "user": "UALICE",
        "text": "And what did he say about the nuclear programme?",
        "ts": "200.5",
        "thread_ts": "200.1",
        "channel": CHANNEL,
    }
    await slack.slack.event(follow_up, event_id="Ev11")
    await slack.stub.wait_for(lambda: len(slack.stub.posts(CHANNEL)) == 2)
    await slack.settle()
    first, second = qa_rows(slack)
    assert first.conversation_id == second.conversation_id == f"{CHANNEL}:200.1"
    assert second.answer["entities"] == ["lavrov"]  # "he" became the previous question's subject
    assert "Lavrov" in second.answer["resolved_question"]
    assert slack.stub.posts(CHANNEL)[1]["thread_ts"] == "200.1"


async def test_message_in_a_thread_the_bot_never_answered_is_ignored(slack: SlackHarness) -> None:
    chatter = {
        "type": "message",
        "channel_type": "channel",
        "user": "UBOB",
        "text": "lunch?",
        "ts": "300.2",
        "thread_ts": "300.1",
        "channel": CHANNEL,
    }
    assert (await slack.slack.event(chatter, event_id="Ev20")).status_code == 200
    await slack.settle()
    assert slack.stub.posts() == [] and qa_rows(slack) == []


async def test_direct_message_is_a_question(slack: SlackHarness) -> None:
    dm = {
        "type": "message",
        "channel_type": "im",
        "user": "UALICE",
        "channel": "D0ALICE",
        "ts": "400.1",
        "text": "كم بلغت التجارة غير النفطية بين السعودية وروسيا في 2024؟",
    }
    await slack.slack.event(dm, event_id="Ev30")
    await slack.stub.wait_for(lambda: len(slack.stub.posts("D0ALICE")) == 1)
    await slack.settle()
    [post] = slack.stub.posts("D0ALICE")
    assert "3.28" in all_text(post)
    assert "thread_ts" not in post
    assert "حتى تاريخ" in all_text(post)  # the interface speaks the question's language


async def test_retried_event_is_answered_once(slack: SlackHarness) -> None:
    event = mention("Where did Lavrov meet Kim Jong Un?", ts="500.1")
    first = await slack.slack.event(event, event_id="Ev40")
    retries = [await slack.slack.event(event, event_id="Ev40", retry_num=n) for n in (1, 2)]
    assert all(r.status_code == 200 for r in [first, *retries])
    await slack.stub.wait_for(lambda: len(slack.stub.posts(CHANNEL)) >= 1)
    await slack.settle()
    assert len(slack.stub.posts(CHANNEL)) == 1
    assert len(qa_rows(slack)) == 1
    with slack.ctx.db.session() as session:
        assert session.scalars(select(ProcessedEvent.key)).all() == ["slack:Ev40"]


async def test_forged_signature_gets_401_and_nothing_is_posted(slack: SlackHarness) -> None:
    body = event_body(mention("Where did Lavrov meet Kim Jong Un?", ts="600.1"), event_id="Ev50")
    forged = signed_headers("not-the-secret", body)["X-Slack-Signature"]
    response = await slack.slack.send(body, "application/json", signature=forged)
    assert response.status_code == 401
    await slack.settle()
    assert not slack.stub.posted_anything() and qa_rows(slack) == []


async def test_ten_minute_old_timestamp_gets_401_and_nothing_is_posted(slack: SlackHarness) -> None:
    body = event_body(mention("Where did Lavrov meet Kim Jong Un?", ts="700.1"), event_id="Ev60")
    response = await slack.slack.send(body, "application/json", timestamp=int(time.time()) - 600)
    assert response.status_code == 401
    await slack.settle()
    assert not slack.stub.posted_anything() and qa_rows(slack) == []


async def test_failing_answer_posts_an_apology_in_the_thread(
    slack_stub: SlackStub, seeded_archive: Any, shared_embedder: Any, tmp_path: Any
) -> None:
    from tests.servers.slack_stub import copy_archive, slack_harness

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the model fell over")

    data_dir = copy_archive(seeded_archive, tmp_path / "data")
    async with slack_harness(slack_stub, data_dir, embedder=shared_embedder, answerer=broken) as harness:
        await harness.slack.event(mention("Where did Lavrov meet Kim Jong Un?", ts="800.1"), event_id="Ev70")
        await slack_stub.wait_for(lambda: len(slack_stub.posts(CHANNEL)) == 1)
        await harness.settle()
    [post] = slack_stub.posts(CHANNEL)
    assert post["thread_ts"] == "800.1"
    assert "Sorry" in all_text(post)
    assert "fell over" not in all_text(post)
