"""The question-answering use case the chat adapters and the CLI call."""

from __future__ import annotations

import logging
import time

from sqlalchemy.orm import Session

import prompts
from bot.attribution import outlets
from bot.context import Context
from bot.embed import Embedder
from bot.llm import LLM, LLMError
from bot.qa import conversation
from bot.qa.answer import llm_answer, offline_answer, refusal, supporting
from bot.qa.dense import DenseIndex, dense_index
from bot.qa.model import Answer, QAError
from bot.qa.query import Query, analyse, question_lang
from bot.qa.question_limit import check_rate
from bot.qa.retrieve import DEFAULT_TOP, Hit, retrieve
from bot.qa.transparency import annotate_answer
from bot.threads.classify import ThreadClassifier, ThreadDef
from storage.models import QALog, Thread

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 1000
TRANSLATE_PURPOSE = "translate-query"


def answer_question(
    ctx: Context,
    question: str,
    *,
    lang: str | None = None,
    conversation_id: str | None = None,
    user: str = "",
    thread: str | None = None,
    top: int = DEFAULT_TOP,
    rate_limited: bool = True,
) -> Answer:
    """Answer `question` from the archive, in its language, with citations; log it for follow-ups.

    QA_RATE_LIMIT protects the bot from chat users; a local caller (the CLI) passes `rate_limited=False`.
    """
    started = time.perf_counter()
    question = _checked(question, lang)
    qlang = question_lang(question, lang)
    classifier, llm = ctx.classifier(), ctx.llm()
    with ctx.db.session() as session:
        if rate_limited:
            check_rate(session, user, limit=ctx.settings.qa_rate_limit, now=ctx.now(), lang=qlang)
        turns = conversation.history(session, conversation_id)
    resolved = conversation.resolve_offline(question, turns, classifier)
    search_text = (conversation.rewrite(llm, question, turns) if llm else None) or resolved.question
    carried = [] if search_text != resolved.question else resolved.carried
    extra = (_translation(llm, search_text, qlang) if llm else "") or _glossary_terms(ctx, search_text, qlang)
    query = analyse(
        search_text, classifier=classifier, lang=qlang, carried_entities=carried, extra_text=extra
    )
    embedder = ctx.embedder()
    with ctx.db.session() as session:
        hits = retrieve(session, query, embedder=embedder, dense=_dense(ctx), limit=top, thread=thread)
    support = supporting(query, hits, classifier)
    answer = _compose(query, hits, support, classifier, llm, turns, embedder)
    with ctx.db.session() as session:
        annotate_answer(answer, outlets.catalogue(session), thread=_thread(session, thread))
    answer.question, answer.resolved_question = question, search_text
    elapsed = time.perf_counter() - started
    ctx.metrics.question_latency.observe(elapsed)
    _log(ctx, answer, conversation_id, user, elapsed * 1000)
    return answer


def _compose(
    query: Query,
    hits: list[Hit],
    support: list[Hit],
    classifier: ThreadClassifier,
    llm: LLM | None,
    turns: list[conversation.Turn],
    embedder: Embedder,
) -> Answer:
    """A refusal, the model's validated answer, or the offline one (marked "fallback" when a model failed)."""
    if not support:
        return refusal(query, hits)
    if llm is not None:
        answer = llm_answer(llm, query, support, classifier, history=conversation.history_blocks(turns))
        if answer is not None:
            return answer
    said = [turn.answer for turn in turns]
    answer = offline_answer(query, support, classifier, embedder=embedder, said=said)
    answer.method = "fallback" if llm else "offline"
    return answer


def _thread(session: Session, thread_id: str | None) -> ThreadDef | None:
    """The thread a question was asked in, whose sides are the parties; None for the whole archive."""
    row = session.get(Thread, thread_id) if thread_id else None
    return ThreadDef.from_dict(row.definition) if row is not None else None


def _checked(question: str, lang: str | None) -> str:
    if not isinstance(question, str) or not question.strip():
        raise QAError("Ask a question: the text is empty.")
    if len(question) > MAX_QUESTION_CHARS:
        raise QAError(f"The question is too long ({len(question)} characters; at most {MAX_QUESTION_CHARS}).")
    if lang not in (None, "ar", "en"):
        raise QAError(f"Unknown answer language {lang!r}: use ar or en.")
    return question.strip()


def _dense(ctx: Context) -> DenseIndex | None:
    embedder = ctx.embedder()
    if embedder.dim == 0:
        return None
    return dense_index(ctx.db.engine, embedder.name, embedder.dim)


def _glossary_terms(ctx: Context, question: str, lang: str) -> str:
    """The question's glossary terms in the other language ("non-oil trade" → «التجارة غير النفطية»)."""
    found = ctx.glossary().find(question, ["place", "title", "unit", "noun"])
    if lang == "ar":
        return " ".join(dict.fromkeys(f.term.en for f in found))
    return " ".join(dict.fromkeys(form for f in found for form in f.term.ar[:2]))


def _translation(llm: LLM, question: str, lang: str) -> str:
    """The question in the other language, for cross-language lexical search; "" when unavailable."""
    target = "en" if lang == "ar" else "ar"
    prompt = prompts.render("translate_query", target=target, question=prompts.quote_untrusted(question))
    try:
        reply = llm.chat_json(
            purpose=TRANSLATE_PURPOSE, prompt=prompt, schema=prompts.schema("translate_query")
        )
    except LLMError as error:
        log.info("query translation unavailable: %s", error)
        return ""
    return str(reply["query"])


def _log(ctx: Context, answer: Answer, conversation_id: str | None, user: str, latency_ms: float) -> None:
    with ctx.db.session() as session:
        row = QALog(
            at=ctx.now(),
            conversation_id=conversation_id,
            user=user,
            question=answer.question,
            lang=answer.lang,
            answer=answer.to_dict(),
            method=answer.method,
            latency_ms=latency_ms,
        )
        session.add(row)
        session.flush()
        answer.log_id = row.id


__all__ = ["Answer", "QAError", "Query", "answer_question"]
