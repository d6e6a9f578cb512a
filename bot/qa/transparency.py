"""Source transparency attached to what readers get: one place that adds it to briefs, stories, answers.

- each cited source gets its outlet's facts (`outlet_info`: country, ownership, wire; unknown stays
  unknown) and, when known, the outlet's name in the reader's language;
- each story gets its corroboration (outlets, countries, state media, flags);
- each bullet gets its kind (official / reporting / analysis) with the cues that decided it;
- an answer resting only on state media of a party says so first.
Renderers show these through bot.attribution.labels.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.attribution.corroboration import Report, corroborate
from bot.attribution.kinds import reconcile
from bot.attribution.labels import according_to, with_tag
from bot.attribution.outlets import Catalogue, OutletInfo
from bot.threads.classify import ThreadDef
from storage.models import Article

if TYPE_CHECKING:  # bot.qa imports this module
    from bot.qa.model import Answer


Stored = tuple[int | None, str, bytes | None]  # an article's duplicate_of, text and MinHash signature


def _articles(session: Session, ids: Iterable[int]) -> dict[int, Stored]:
    """{article id: (duplicate_of, text, minhash)}."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    columns = (Article.id, Article.duplicate_of, Article.text, Article.minhash)
    rows = session.execute(select(*columns).where(Article.id.in_(wanted)))
    return {row.id: (row.duplicate_of, row.text or "", row.minhash) for row in rows}


def shown_outlet(name: str, info: OutletInfo, lang: str) -> str:
    """The outlet as a citation shows it: its name in `lang` when known, then its tag in brackets.

    The label travels in the citation's `outlet` itself, so every renderer that prints a citation
    prints it: "TASS (Russia, state media, wire)", "example.net (unknown outlet)".
    """
    return with_tag(info.name if info.known else name, info.to_dict(), lang)


def annotate_sources(sources: Sequence[dict[str, Any]], catalogue: Catalogue, lang: str) -> list[OutletInfo]:
    """Each source dict gets `outlet_info` (the facts), `outlet_name`, and `outlet` as a reader sees it."""
    infos = []
    for source in sources:
        name = str(source.get("outlet") or "")
        info = catalogue.info(source.get("url"), name, lang=lang)
        source["outlet_info"] = info.to_dict()
        source["outlet_name"] = info.name if info.known else name
        source["outlet"] = shown_outlet(name, info, lang)
        infos.append(info)
    return infos


def annotate_bullets(bullets: Sequence[dict[str, Any]], lang: str, *, method: str = "") -> None:
    """Each bullet gets its kind (a model's kind stands only where the sentence has no cue) and evidence.

    A key-facts card's lines ("Who: …", "Figures: …") are lists, not claims: they get no kind.
    """
    for bullet in bullets:
        if method == "keyfacts":
            bullet["kind"], bullet["kind_evidence"] = "", []
            continue
        decision = reconcile(bullet.get("kind") or None, str(bullet.get("text", "")), lang)
        bullet["kind"] = decision.kind
        bullet["kind_evidence"] = [cue.to_dict() for cue in decision.evidence]


def story_corroboration(
    sources: Sequence[Mapping[str, Any]],
    infos: Sequence[OutletInfo],
    articles: Mapping[int, Stored],
    parties: set[str],
) -> dict[str, Any]:
    """The corroboration of one story's sources (wire copies counted once)."""
    reports = [
        Report(
            article_id=int(source["article_id"]),
            info=info,
            outlet=str(source.get("outlet") or ""),
            duplicate_of=stored[0],
            text=stored[1],
            minhash=stored[2],
        )
        for source, info in zip(sources, infos, strict=True)
        for stored in [articles.get(int(source["article_id"]), (None, "", None))]
    ]
    return corroborate(reports, parties=parties).to_dict()


def parties(catalogue: Catalogue, thread: ThreadDef | None) -> set[str]:
    """The countries a thread is about; every party the catalogue knows when no thread is given."""
    if thread is None:
        return set(catalogue.parties.values())
    return catalogue.parties_of(group.id for group in thread.groups)


def annotate_brief(
    session: Session, payload: dict[str, Any], *, thread: ThreadDef, catalogue: Catalogue
) -> dict[str, Any]:
    """Add outlet facts, corroboration and bullet kinds to a composed brief payload (in place)."""
    lang = str(payload["lang"])
    stories = payload.get("stories", [])
    articles = _articles(session, (int(s["article_id"]) for story in stories for s in story["sources"]))
    sides = parties(catalogue, thread)
    for story in stories:
        infos = annotate_sources(story["sources"], catalogue, lang)
        story["corroboration"] = story_corroboration(story["sources"], infos, articles, sides)
        # Independent outlets, as the corroboration line counts them (wire copies once).
        story["outlet_count"] = story["corroboration"]["outlets"]
        annotate_bullets(story["bullets"], lang, method=str(story.get("method", "")))
    return payload


def annotate_overview(
    session: Session,
    overview: dict[str, Any],
    *,
    thread: ThreadDef | None,
    catalogue: Catalogue,
    lang: str = "en",
) -> dict[str, Any]:
    """`stories show`: each member's outlet facts and the story's corroboration (in place)."""
    members = overview.get("members", [])
    sources = [{"article_id": m["id"], "outlet": m.get("outlet"), "url": m.get("url")} for m in members]
    infos = annotate_sources(sources, catalogue, lang)
    for member, source in zip(members, sources, strict=True):
        member["outlet_info"] = source["outlet_info"]
    articles = _articles(session, (int(m["id"]) for m in members))
    overview["corroboration"] = story_corroboration(sources, infos, articles, parties(catalogue, thread))
    return overview


def annotate_answer(answer: Answer, catalogue: Catalogue, *, thread: ThreadDef | None = None) -> Answer:
    """Each citation gets its outlet's facts; an answer resting only on a party's state media says so."""
    infos = []
    for i, citation in enumerate(answer.citations):
        info = catalogue.info(citation.url, citation.outlet, lang=answer.lang)
        answer.citations[i] = replace(citation, outlet=shown_outlet(citation.outlet, info, answer.lang))
        answer.outlets[str(citation.n)] = info.to_dict()
        infos.append(info)
    sides = parties(catalogue, thread)
    if answer.covered and infos and all(i.known and i.state_media and i.country in sides for i in infos):
        note = according_to([i.to_dict() for i in infos], answer.lang)
        answer.text = f"{note}\n{answer.text}"
        answer.state_media_only = True
    return answer
