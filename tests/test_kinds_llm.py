"""With an LLM, the summarizer returns a kind per bullet; where the cues disagree, the cues win."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.llm import LLM
from bot.summarize import SourceArticle, StoryInput, Summary
from bot.summarize.llm import LLMSummarizer
from bot.threads.classify import ThreadClassifier, load_threads
from tests.servers.openai_stub import OpenAIStub

THREADS = {t.id: t for t in load_threads(Path(__file__).resolve().parents[1] / "seeds" / "threads.toml")}
CLASSIFIER = ThreadClassifier(THREADS.values())
ARTICLES = [
    SourceArticle(
        11,
        "لافروف يلتقي كيم جونغ أون في وونسان",
        "قال وزير الخارجية الروسي سيرغي لافروف إن المحادثات مع كيم جونغ أون في وونسان كانت مثمرة. "
        "ويرى محللون أن الزيارة تعكس تقاربا بين موسكو وبيونغ يانغ.",
        "ar",
    ),
    SourceArticle(
        12,
        "Lavrov meets Kim Jong Un in Wonsan",
        "Russian Foreign Minister Sergei Lavrov said the talks with Kim Jong Un in Wonsan were productive. "
        "Analysts say the visit signals closer ties between Moscow and Pyongyang.",
        "en",
    ),
]
REPLY = {
    "ar": {
        "headline": "لافروف يلتقي كيم جونغ أون في وونسان",
        "bullets": [
            # The model calls Lavrov's words analysis: «قال وزير» says official, and wins.
            {
                "text": "قال وزير الخارجية الروسي لافروف إن المحادثات مع كيم جونغ أون كانت مثمرة.",
                "cites": [11],
                "kind": "analysis",
            },
            {
                "text": "ويرى محللون أن الزيارة تعكس تقاربا بين موسكو وبيونغ يانغ.",
                "cites": [11],
                "kind": "analysis",
            },
        ],
    },
    "en": {
        "headline": "Lavrov meets Kim Jong Un in Wonsan",
        "bullets": [
            {
                "text": "Lavrov said the talks with Kim Jong Un were productive.",
                "cites": [12],
                "kind": "analysis",
            },
            # No cue in the sentence: the model's kind stands.
            {
                "text": "The talks in Wonsan were productive for Moscow and Pyongyang.",
                "cites": [12],
                "kind": "official",
            },
        ],
    },
}


@pytest.fixture
def summarizer(openai_stub: OpenAIStub) -> Iterator[LLMSummarizer]:
    llm = LLM(
        base_url=openai_stub.base_url + "/v1", api_key="sk-test", model="stub", timeout=5, max_retries=1
    )
    yield LLMSummarizer(llm, entities=CLASSIFIER.entities_in)
    llm.close()


def test_the_models_kinds_are_kept_where_no_cue_speaks_and_overruled_where_cues_disagree(
    summarizer: LLMSummarizer, openai_stub: OpenAIStub
) -> None:
    openai_stub.push(json.dumps(REPLY, ensure_ascii=False))
    made: dict[str, Summary] = summarizer.summarize(StoryInput(7, THREADS["russia-dprk"], ARTICLES))
    assert made["ar"].method == "llm"
    assert [b.kind for b in made["ar"].bullets] == ["official", "analysis"]
    assert [b.kind for b in made["en"].bullets] == ["official", "official"]
    assert '"kind"' in openai_stub.last_messages()["user"]  # the prompt asks for a kind per bullet


def test_a_cached_summary_keeps_its_kinds() -> None:
    summary = Summary("en", "h", (), "llm")
    data = summary.to_dict()
    data["bullets"] = [{"text": "Lavrov said so.", "cites": [1], "kind": "official"}]
    assert Summary.from_dict(data).bullets[0].kind == "official"
