"""Questions over a 100,000-passage archive: index build rate, retrieval and answer latency, peak RSS.

Run: /work/.venv/bin/python bench/qa.py [--passages N] [--build-articles N] [--questions N]

The archive is synthetic but realistic: passages of two or three sentences drawn from the Arabic seed
articles and the English reports in tests/data/parallel_en.toml (about 60% Arabic, 40% English), each with
its own figures and a few words from a larger vocabulary so that no two passages are alike.
1. Index build: `bot.qa.index.index_articles` on fresh articles, the local embedder included.
2. The 100k archive is then written in bulk (FTS5 kept in sync by the migration's triggers). Its vectors are
   the embedded vectors of the passage's sentences' pool entry plus noise: the dense search cost depends
   on the matrix size only, and embedding 100k passages would take the bench ~10 minutes.
3. Retrieval p50/p95 for Arabic and English questions: lexical alone, and hybrid (query embedding,
   in-memory dense search over all vectors, fusion, reading the rows).
4. Overhead: our lexical retrieval (question analysis + search + reading rows) against a bare FTS5 MATCH
   of the same expression with the same LIMIT, in the same run.
5. Offline answer latency: `bot.qa.answer_question` end to end (rate check, retrieval, answer, QA log).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

# One core, as the targets assume; set before numpy loads its BLAS.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import numpy as np  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.config import Settings  # noqa: E402
from bot.context import Context  # noqa: E402
from bot.embed import LocalEmbedder, to_blob  # noqa: E402
from bot.qa import answer_question  # noqa: E402
from bot.qa.dense import dense_index  # noqa: E402
from bot.qa.index import index_articles, passage_terms  # noqa: E402
from bot.qa.query import analyse  # noqa: E402
from bot.qa.retrieve import retrieve  # noqa: E402
from bot.text.sentences import split_sentences  # noqa: E402
from bot.threads.classify import load_threads  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Article, Passage, Thread  # noqa: E402
from storage.search import document_frequencies, fts5_query, prune, query_tokens  # noqa: E402

QUESTIONS_EN = [
    "Where did Lavrov meet Kim Jong Un?",
    "How many visitors is the Wonsan-Kalma resort expected to receive?",
    "What did Lavrov say about North Korea's nuclear programme?",
    "How much non-oil trade did Saudi Arabia and Russia do in 2024?",
    "When did Shoigu visit Pyongyang?",
    "What did Kim Jong Un tell Shoigu about the defence treaty?",
    "How many North Korean troops fought in Kursk?",
    "Who is the Saudi minister of industry and mineral resources?",
]
QUESTIONS_AR = [
    "أين التقى لافروف كيم جونغ أون؟",
    "كم بلغت التجارة غير النفطية بين السعودية وروسيا في 2024؟",
    "من هو وزير الصناعة والثروة المعدنية السعودي؟",
    "ماذا قال لافروف عن البرنامج النووي لكوريا الشمالية؟",
    "متى زار شويغو بيونغ يانغ؟",
    "كم عدد الجنود الكوريين الشماليين الذين قاتلوا في كورسك؟",
    "كم زائرا يتوقع أن يستقبل منتجع وونسان-كالما؟",
    "ما هي الشركات الروسية التي التقاها الخريف؟",
]
FILLER_EN = [
    "officials",
    "analysts",
    "ministry",
    "cooperation",
    "agreement",
    "delegation",
    "summit",
    "sanctions",
    "exports",
    "energy",
    "security",
    "talks",
    "statement",
    "visit",
    "negotiations",
    "partnership",
    "investment",
    "infrastructure",
    "shipping",
    "grain",
    "railway",
    "port",
]
FILLER_AR = [
    "المسؤولون",
    "المحللون",
    "الوزارة",
    "التعاون",
    "الاتفاق",
    "الوفد",
    "القمة",
    "العقوبات",
    "الصادرات",
    "الطاقة",
    "الأمن",
    "المحادثات",
    "البيان",
    "الزيارة",
    "المفاوضات",
    "الشراكة",
    "الاستثمار",
    "البنية",
    "الشحن",
    "الحبوب",
    "السكك",
    "الميناء",
]


def sentence_pools() -> dict[str, list[str]]:
    arabic = []
    for path in sorted((REPO / "seeds").glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            arabic += [s for s in split_sentences(line) if len(s) > 40]
    data = tomllib.loads((REPO / "tests" / "data" / "parallel_en.toml").read_text(encoding="utf-8"))
    english = []
    for event in data["event"]:
        for report in event["english"]:
            english += [s for s in split_sentences(report.replace("\n", " ")) if len(s) > 40]
    return {"ar": sorted(set(arabic)), "en": sorted(set(english))}


def synth_passage(rng: random.Random, pools: dict[str, list[str]]) -> tuple[str, str]:
    lang = "ar" if rng.random() < 0.6 else "en"
    sentences = rng.sample(pools[lang], rng.choice((2, 2, 3)))
    filler = " ".join(rng.sample(FILLER_AR if lang == "ar" else FILLER_EN, 3))
    figure = f"{rng.randint(2, 990)}"
    tail = f" {filler} {figure}" + (" مليون دولار." if lang == "ar" else " million dollars.")
    return lang, " ".join(sentences) + tail


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ms(values: list[float]) -> str:
    return f"p50 {percentile(values, 0.5):6.1f} ms   p95 {percentile(values, 0.95):6.1f} ms"


def timed(fn: object, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append((time.perf_counter() - start) * 1000)
    return out


def make_context(folder: Path, embedder: LocalEmbedder) -> Context:
    settings = Settings(_env_file=None, data_dir=folder, qa_rate_limit=0)
    db = Database(settings.effective_database_url)
    db.upgrade()
    ctx = Context(settings=settings, db=db)
    ctx._embedder = embedder
    with db.session() as session:
        for thread in load_threads(REPO / "seeds" / "threads.toml"):
            session.add(
                Thread(
                    id=thread.id, name_en=thread.name_en, name_ar=thread.name_ar, definition=thread.to_dict()
                )
            )
    return ctx


def bench_build(ctx: Context, rng: random.Random, pools: dict[str, list[str]], articles: int) -> None:
    with ctx.db.session() as session:
        ids = []
        for i in range(articles):
            lang, _ = synth_passage(rng, pools)
            body = "\n\n".join(synth_passage(rng, pools)[1] for _ in range(4) if True)
            article = Article(title=f"article {i}", text=body, lang=lang, content_hash=f"build{i}")
            session.add(article)
            session.flush()
            ids.append(article.id)
    classifier = ctx.classifier()
    start = time.perf_counter()
    with ctx.db.session() as session:
        count = index_articles(session, ids, ctx.embedder(), classifier=classifier)
    elapsed = time.perf_counter() - start
    print(
        f"1. index build (terms + local embedding + insert): {count} passages in {elapsed:.1f} s "
        f"= {count / elapsed:.0f} passages/s (target >= 200)"
    )


def bulk_archive(ctx: Context, rng: random.Random, pools: dict[str, list[str]], total: int) -> None:
    """Write `total` passages in bulk; vectors are pool vectors plus noise (see the module docstring)."""
    classifier, embedder = ctx.classifier(), ctx.embedder()
    pool_texts = [synth_passage(rng, pools) for _ in range(1500)]
    pool_vectors = embedder.embed([t for _, t in pool_texts])
    pool_terms: dict[str, str] = {}
    start = time.perf_counter()
    base = datetime(2025, 1, 1, tzinfo=UTC)
    per_article = 8
    with ctx.db.session() as session:
        for first in range(0, total, 5000):
            rows_a, rows_p = [], []
            for k in range(first, min(total, first + 5000), per_article):
                rows_a.append(
                    {
                        "id": 10_000_000 + k,
                        "title": f"synthetic {k}",
                        "text": "",
                        "lang": "ar",
                        "content_hash": f"bulk{k}",
                        "outlet": "bench",
                        "fetched_at": base,
                        "published_at": base + timedelta(minutes=k),
                        "cleaning": {},
                    }
                )
                for j in range(per_article):
                    if k + j >= total:
                        break
                    which = rng.randrange(len(pool_texts))
                    lang, body = pool_texts[which]
                    number = rng.randint(2, 99_000)
                    passage = f"{body} {number}"
                    key = body
                    if key not in pool_terms:
                        pool_terms[key] = passage_terms(body, lang, classifier)
                    noise = rng.normalvariate(0, 0.02)
                    vector = pool_vectors[which] + noise * np.ones(embedder.dim, dtype=np.float32)
                    rows_p.append(
                        {
                            "article_id": 10_000_000 + k,
                            "ord": j,
                            "text": passage,
                            "lang": lang,
                            "terms": f"{pool_terms[key]} {number} {rng.choice(FILLER_EN)}{rng.randint(0, 5000)}",
                            "embedding": to_blob(vector / np.linalg.norm(vector)),
                        }
                    )
            session.execute(insert(Article), rows_a)
            session.execute(insert(Passage), rows_p)
    print(f"   archive: {total} passages written in bulk in {time.perf_counter() - start:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--build-articles", type=int, default=250)
    parser.add_argument("--repeat", type=int, default=5, help="times each question is asked per measurement")
    args = parser.parse_args()
    rng = random.Random(7)
    pools = sentence_pools()
    embedder = LocalEmbedder()
    start = time.perf_counter()
    embedder.load()
    print(f"local embedder {embedder.name} loaded in {time.perf_counter() - start:.1f} s")
    with tempfile.TemporaryDirectory() as folder:
        ctx = make_context(Path(folder), embedder)
        bench_build(ctx, rng, pools, args.build_articles)
        bulk_archive(ctx, rng, pools, args.passages)
        with ctx.db.session() as session:
            total = session.scalar(text("SELECT count(*) FROM passages"))
            ar = session.scalar(text("SELECT count(*) FROM passages WHERE lang = 'ar'"))
            start = time.perf_counter()
            dense = dense_index(ctx.db.engine, embedder.name, embedder.dim)
            dense.refresh(session)
            print(
                f"   {total} passages ({100 * (ar or 0) / (total or 1):.0f}% Arabic); dense matrix loaded "
                f"in {time.perf_counter() - start:.1f} s"
            )
        classifier = ctx.classifier()
        print("2. retrieval latency (SQLite):")
        lexical_all: list[float] = []
        bare_all: list[float] = []
        unpruned_all: list[float] = []
        for label, questions in (("Arabic", QUESTIONS_AR), ("English", QUESTIONS_EN)):
            lexical, hybrid, bare = [], [], []
            for question in questions:

                def lex(q: str = question) -> None:
                    with ctx.db.session() as session:
                        retrieve(session, analyse(q, classifier=classifier), limit=16)

                def hyb(q: str = question) -> None:
                    with ctx.db.session() as session:
                        retrieve(
                            session,
                            analyse(q, classifier=classifier),
                            embedder=embedder,
                            dense=dense,
                            limit=16,
                        )

                tokens = query_tokens(analyse(question, classifier=classifier).search_terms())
                with ctx.db.session() as session:
                    total, frequencies = document_frequencies(session, tokens)
                    expression = fts5_query(prune(tokens, frequencies, total))
                    unpruned = fts5_query(tokens)

                def full(e: str = unpruned) -> None:
                    with ctx.db.session() as session:
                        session.execute(
                            text(
                                "SELECT rowid FROM passages_fts WHERE passages_fts MATCH :q ORDER BY rank LIMIT 50"
                            ),
                            {"q": e},
                        ).all()

                def raw(e: str = expression) -> None:
                    with ctx.db.session() as session:
                        session.execute(
                            text(
                                "SELECT rowid FROM passages_fts WHERE passages_fts MATCH :q ORDER BY rank LIMIT 50"
                            ),
                            {"q": e},
                        ).all()

                for warm in (lex, hyb, raw):  # once each, to warm the caches
                    warm()
                # Interleaved, so that ours and the bare MATCH see the same machine load.
                for _ in range(args.repeat):
                    lexical += timed(lex, 1)
                    bare += timed(raw, 1)
                    hybrid += timed(hyb, 1)
                unpruned_all.extend(timed(full, 1))
            print(f"   {label:7s} lexical: {ms(lexical)}   (target p95 <= 30 ms)")
            print(f"   {label:7s} hybrid:  {ms(hybrid)}   (target p95 <= 80 ms, query embedding included)")
            lexical_all += lexical
            bare_all += bare
        ratio = statistics.median(lexical_all) / statistics.median(bare_all)
        print(
            f"3. overhead vs bare FTS5 MATCH: ours {statistics.median(lexical_all):.1f} ms vs bare "
            f"{statistics.median(bare_all):.1f} ms median = ratio {ratio:.2f} (target <= 1.5)"
        )
        print(f"   (a bare MATCH of every question token, common ones included: {ms(unpruned_all)})")
        answers = []
        for question in QUESTIONS_AR + QUESTIONS_EN:
            answer_question(ctx, question)
            answers += timed(lambda q=question: answer_question(ctx, q), args.repeat)
        print(f"4. offline answer (end to end, hybrid): {ms(answers)}   (target p95 <= 100 ms)")
        ctx.db.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"5. peak RSS: {peak:.0f} MB")


if __name__ == "__main__":
    main()
