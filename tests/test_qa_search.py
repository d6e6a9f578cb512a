"""Lexical search (storage.search) and the passage index, on every database backend under test."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from bot.qa.dense import DenseIndex
from bot.qa.index import split_passages
from bot.qa.retrieve import fuse
from storage.db import Database
from storage.models import Article, ArticleThread, Passage, Thread
from storage.search import SearchError, document_frequencies, index_text, lexical_search, prune, query_tokens


def _article(session: object, title: str, lang: str = "en") -> Article:
    article = Article(title=title, text=title, lang=lang, content_hash=title)
    session.add(article)  # type: ignore[attr-defined]
    session.flush()  # type: ignore[attr-defined]
    return article


def _passages(db: Database, rows: list[tuple[str, list[str]]], *, lang: str = "en") -> list[int]:
    """One article per passage; returns the passage ids in order."""
    ids = []
    with db.session() as session:
        for title, terms in rows:
            article = _article(session, title, lang)
            passage = Passage(article_id=article.id, ord=0, text=title, lang=lang, terms=index_text(terms))
            session.add(passage)
            session.flush()
            ids.append(passage.id)
    return ids


def test_figures_become_tokens_both_backends_cut_alike() -> None:
    assert query_tokens(["3.28", "20,000", "3.28e9", "lavrov", "3.28"]) == [
        "3x28",
        "20000",
        "3x28e9",
        "lavrov",
    ]
    assert index_text(["wonsan-kalma", "x_y"]) == "wonsan kalma x y"


def test_rare_terms_outrank_common_ones(db: Database) -> None:
    common = [("common", ["russia", "visit"])] * 6
    ids = _passages(db, [*common, ("rare", ["russia", "wonsan"])])
    with db.session() as session:
        found = lexical_search(session, ["wonsan", "russia"], limit=3)
    assert found[0][0] == ids[-1]
    assert found[0][1] > found[1][1] > 0


def test_matching_any_term_is_enough_and_unmatched_passages_stay_out(db: Database) -> None:
    ids = _passages(db, [("a", ["lavrov", "wonsan"]), ("b", ["shoigu"]), ("c", ["aramco"])])
    with db.session() as session:
        found = {pid for pid, _ in lexical_search(session, ["wonsan", "shoigu"])}
    assert found == {ids[0], ids[1]}


def test_figures_match_across_writings(db: Database) -> None:
    ids = _passages(db, [("trade", ["تجار", "3.28e9", "3.28"]), ("other", ["2016"])], lang="ar")
    with db.session() as session:
        assert [pid for pid, _ in lexical_search(session, ["3.28e9"])] == [ids[0]]


def test_language_and_thread_filters(db: Database) -> None:
    en = _passages(db, [("en", ["lavrov"])], lang="en")
    ar = _passages(db, [("ar", ["lavrov"])], lang="ar")
    with db.session() as session:
        session.add(Thread(id="russia-dprk", name_en="R", name_ar="R", definition={}))
        article_id = session.get(Passage, ar[0]).article_id  # type: ignore[union-attr]
        session.add(ArticleThread(article_id=article_id, thread_id="russia-dprk", score=1.0))
    with db.session() as session:
        assert [p for p, _ in lexical_search(session, ["lavrov"], lang="en")] == en
        assert [p for p, _ in lexical_search(session, ["lavrov"], thread="russia-dprk")] == ar
        assert lexical_search(session, ["lavrov"], thread="saudi-russia") == []


def test_deleted_articles_leave_the_index(db: Database) -> None:
    ids = _passages(db, [("gone", ["wonsan"]), ("kept", ["wonsan"])])
    with db.session() as session:
        passage = session.get(Passage, ids[0])
        assert passage is not None
        session.delete(session.get(Article, passage.article_id))
    with db.session() as session:
        assert [pid for pid, _ in lexical_search(session, ["wonsan"])] == [ids[1]]


def test_changed_terms_are_searched_as_changed(db: Database) -> None:
    ids = _passages(db, [("p", ["wonsan"])])
    with db.session() as session:
        passage = session.get(Passage, ids[0])
        assert passage is not None
        passage.terms = index_text(["pyongyang"])
    with db.session() as session:
        assert lexical_search(session, ["wonsan"]) == []
        assert [pid for pid, _ in lexical_search(session, ["pyongyang"])] == ids


def test_empty_terms_find_nothing_and_a_bad_limit_is_refused(db: Database) -> None:
    _passages(db, [("p", ["wonsan"])])
    with db.session() as session:
        assert lexical_search(session, ["", "..."]) == []
        with pytest.raises(SearchError, match="limit must be at least 1"):
            lexical_search(session, ["wonsan"], limit=0)


def test_quotes_and_operators_in_terms_cannot_break_the_query(db: Database) -> None:
    _passages(db, [("p", ["wonsan"])])
    with db.session() as session:
        assert lexical_search(session, ['"wonsan', "OR", "NEAR(", "a:b", "wonsan*"]) != []


def test_reciprocal_rank_fusion_rewards_agreement() -> None:
    fused = [item for item, _ in fuse([[1, 2, 3], [3, 4, 1]])]
    assert fused[:2] == [1, 3] and set(fused) == {1, 2, 3, 4}


def test_passages_keep_headings_with_their_paragraph_and_stay_short() -> None:
    text = "سياق استراتيجي متغير\n\n" + " ".join(f"جملة رقم {i} عن العلاقات الروسية." for i in range(9))
    passages = split_passages("العنوان", text)
    assert passages[0] == "العنوان"
    assert passages[1].startswith("سياق استراتيجي متغير\n")
    assert len(passages) >= 4 and all(len(p) <= 450 for p in passages[2:])


def test_dense_index_loads_lazily_and_picks_up_new_passages(db: Database) -> None:
    index = DenseIndex(2)
    vectors = {"east": [1.0, 0.0], "north": [0.0, 1.0]}
    with db.session() as session:
        for name, vector in vectors.items():
            article = _article(session, name)
            blob = np.asarray(vector, dtype="<f2").tobytes()
            session.add(
                Passage(article_id=article.id, ord=0, text=name, lang="en", terms=name, embedding=blob)
            )
    with db.session() as session:
        assert index.refresh(session) == 2 and index.refresh(session) == 0
        north = session.scalar(select(Passage.id).where(Passage.text == "north"))
        assert index.search(np.array([0.1, 0.9], dtype=np.float32), 1)[0][0] == north
        article = _article(session, "wrong width")
        session.add(
            Passage(article_id=article.id, ord=0, text="w", lang="en", terms="w", embedding=b"\0" * 6)
        )
        session.flush()
        assert index.refresh(session) == 0 and len(index) == 2


def test_tokens_most_passages_carry_are_left_out_of_large_archives() -> None:
    frequencies = {"russia": 900, "wonsan": 12, "kalma": 3}
    assert prune(["russia", "wonsan", "kalma", "absent"], frequencies, 5000) == ["wonsan", "kalma"]
    assert prune(["russia", "wonsan"], {"russia": 4000, "wonsan": 3000}, 5000) == ["wonsan", "russia"]
    assert prune(["russia", "wonsan", "absent"], frequencies, 1000) == ["russia", "wonsan"]


def test_document_frequencies_count_passages_per_token(db: Database) -> None:
    _passages(db, [("a", ["wonsan", "russia"]), ("b", ["russia"]), ("c", ["aramco"])])
    with db.session() as session:
        assert document_frequencies(session, ["russia", "wonsan", "absent"]) == (
            3,
            {"russia": 2, "wonsan": 1},
        )


def test_a_title_repeating_the_lead_is_not_a_passage_of_its_own() -> None:
    lead = "Lavrov met Kim Jong Un in Wonsan on Saturday."
    assert split_passages(lead[:30], f"Agencies - {lead} More followed.")[0].startswith("Agencies")


def test_a_token_searched_before_it_was_indexed_is_found_once_it_is(db: Database) -> None:
    _passages(db, [(f"p{i}", ["russia"]) for i in range(30)])
    with db.session() as session:
        assert lexical_search(session, ["tehran"]) == []
    [new] = _passages(db, [("new", ["tehran"])])
    with db.session() as session:
        assert [pid for pid, _ in lexical_search(session, ["tehran"])] == [new]
