"""Sources and threads: the admin's catalogue. Every change is written to the audit log."""

from __future__ import annotations

import tomllib
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from bot.ingest.sources.urls import canonical_url, is_http_url
from bot.text.glossary import KINDS, Glossary, parse_glossary
from bot.text.glossary import STATE_KEY as GLOSSARY_KEY
from bot.threads.classify import ThreadDef, load_threads

if TYPE_CHECKING:  # the readers load when a source is read, so listing and seeding start fast
    from bot.context import Context
from storage import queries
from storage.models import Article, ArticleThread, Setting, Source, Thread

SEEDED_KEY = "seeded-defaults"
# The advisory lock serializing source additions on PostgreSQL (any fixed number but the leader's).
SOURCE_CAP_LOCK_CLASS = 0x6E620001


class CatalogError(Exception):
    """An admin request that cannot be carried out, with the reason in plain words."""


class SourceLimitError(CatalogError):
    """MAX_SOURCES sources exist already: nothing more may be added until one is removed."""


@dataclass
class SourceHealth:
    id: int
    kind: str
    name: str
    location: str
    threads: list[str]
    paused: bool
    paused_reason: str | None
    last_success_at: str | None
    last_error: str | None
    error_count: int
    next_check_at: str | None
    articles: int
    charset: str | None  # which rule decoded the last read (`bot.ingest.charset.Decoded.rule`)
    date_issues: int = 0  # dates set aside: in the future or before 1990
    last_date_issue: str | None = None
    last_items: int | None = None
    last_cut: int = 0

    @property
    def cut_note(self) -> str | None:
        """What the health line says when FEED_MAX_ITEMS cut the last read; None when it took everything."""
        if not self.last_cut or self.last_items is None:
            return None
        taken = self.last_items - self.last_cut
        return f"last fetch cut: took the newest {taken:,} of {self.last_items:,} items (FEED_MAX_ITEMS)"

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "cut": self.cut_note}


@dataclass
class SourcePreview:
    kind: str
    location: str
    title: str
    lang: str
    items: int
    threads: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def source_kind(location: str) -> str:
    """'file' for a local path, otherwise a URL whose kind is found by reading it."""
    if is_http_url(location):
        return "url"
    if Path(location).expanduser().exists():
        return "file"
    raise CatalogError(f"{location!r} is neither an http(s) URL nor an existing file or folder")


def normalize_location(location: str) -> str:
    if is_http_url(location):
        return canonical_url(location)
    return str(Path(location).expanduser().resolve())


async def preview_source(ctx: Context, location: str, *, kind: str | None = None) -> SourcePreview:
    """Read a source once without storing anything: its kind, title, language and thread matches.

    At the source cap it refuses before reading: the source could not be added anyway.
    """
    from bot.ingest.pipeline import ArticlePipeline, complete_items, read_source
    from bot.text.lang import detect_language

    with ctx.db.session() as session:
        check_capacity(session, ctx.settings.max_sources)
    location = normalize_location(location)
    kind = kind or await detect_kind(ctx, location)
    probe = Source(kind=kind, location=location, name="", threads=[], recent_guids=[])
    async with ctx.fetcher() as fetcher:
        read = await read_source(probe, fetcher, max_items=ctx.settings.feed_max_items)
        items = await complete_items(read.items[:10], fetcher)
    pipeline = ArticlePipeline(ctx.classifier(), now=ctx.now)
    threads: Counter[str] = Counter()
    langs: Counter[str] = Counter()
    for item in items:
        prepared = pipeline.prepare(item)
        if prepared:
            threads.update(m.thread_id for m in prepared.matches)
            langs[prepared.lang] += 1
    title = read.title or (items[0].title if items else "")
    lang = langs.most_common(1)[0][0] if langs else detect_language(title)
    return SourcePreview(kind, location, title, lang, read.total or len(read.items), dict(threads))


async def detect_kind(ctx: Context, location: str) -> str:
    """'file', 'feed' or 'url', reading an http(s) location once."""
    from bot.ingest.pipeline import read_source
    from bot.ingest.sources.feeds import FeedError

    kind = source_kind(location)
    if kind == "file":
        return kind
    probe = Source(kind="feed", location=location, name="", threads=[], recent_guids=[])
    async with ctx.fetcher() as fetcher:
        try:
            await read_source(probe, fetcher, max_items=ctx.settings.feed_max_items)
        except FeedError:
            return "url"
    return "feed"


def add_source(
    session: Session,
    *,
    location: str,
    kind: str,
    actor: str,
    threads: list[str] | None = None,
    name: str = "",
    max_sources: int | None = None,
) -> Source:
    """Add a source (or fail clearly: a duplicate, an unknown thread, the source cap)."""
    location = normalize_location(location)
    if kind not in ("feed", "url", "file"):
        raise CatalogError(f"unknown source kind {kind!r}: use feed, url or file")
    if queries.find_source(session, location) is not None:
        raise CatalogError(f"source {location} is already followed")
    _check_threads(session, threads or [])
    if max_sources is not None:
        _lock_sources(session)
        check_capacity(session, max_sources)
    source = Source(
        kind=kind, location=location, name=name, threads=threads or [], added_by=actor, recent_guids=[]
    )
    session.add(source)
    session.flush()
    queries.audit(
        session, actor=actor, action="source.add", target=location, details={"id": source.id, "kind": kind}
    )
    return source


def check_capacity(session: Session, max_sources: int) -> None:
    """Raise SourceLimitError when MAX_SOURCES sources exist already."""
    count = session.scalar(select(func.count(Source.id))) or 0
    if count >= max_sources:
        raise SourceLimitError(
            f"the source limit is reached: {count} source(s) exist and MAX_SOURCES is {max_sources}; "
            "remove a source before adding another"
        )


def _lock_sources(session: Session) -> None:
    """On PostgreSQL, one adder at a time until commit, so two admins cannot both take the last place.

    (SQLite already lets one writer at a time through.)
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(CAST(:key AS integer), hashtext(current_schema()))"),
            {"key": SOURCE_CAP_LOCK_CLASS},
        )


def _check_threads(session: Session, thread_ids: list[str]) -> None:
    unknown = [t for t in thread_ids if session.get(Thread, t) is None]
    if unknown:
        raise CatalogError(f"unknown thread(s): {', '.join(unknown)}")


def get_source(session: Session, ref: str | int) -> Source:
    source = queries.find_source(session, ref)
    if source is None:
        raise CatalogError(f"no source {ref}")
    return source


def remove_source(session: Session, ref: str | int, *, actor: str) -> Source:
    """Stop following a source; its articles stay in the archive."""
    source = get_source(session, ref)
    queries.audit(
        session, actor=actor, action="source.remove", target=source.location, details={"id": source.id}
    )
    session.delete(source)
    session.flush()
    return source


def set_paused(session: Session, ref: str | int, *, paused: bool, actor: str) -> Source:
    source = get_source(session, ref)
    source.paused = paused
    source.paused_reason = "paused by an admin" if paused else None
    if not paused:
        source.error_count = 0
        source.next_check_at = None
    action = "source.pause" if paused else "source.resume"
    queries.audit(session, actor=actor, action=action, target=source.location, details={"id": source.id})
    return source


def source_health(session: Session) -> list[SourceHealth]:
    counts = queries.article_counts(session)
    sources = session.scalars(select(Source).order_by(Source.id)).all()
    return [
        SourceHealth(
            id=s.id,
            kind=s.kind,
            name=s.name,
            location=s.location,
            threads=list(s.threads or []),
            paused=s.paused,
            paused_reason=s.paused_reason,
            last_success_at=_iso(s.last_success_at),
            last_error=s.last_error,
            error_count=s.error_count,
            next_check_at=_iso(s.next_check_at),
            articles=counts.get(s.id, 0),
            charset=s.charset,
            date_issues=s.date_issues or 0,
            last_date_issue=s.last_date_issue,
            last_items=s.last_items,
            last_cut=s.last_cut or 0,
        )
        for s in sources
    ]


def _iso(value: Any) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def import_opml(
    session: Session, content: bytes, *, actor: str, max_sources: int | None = None
) -> tuple[list[Source], list[tuple[str, CatalogError]]]:
    """Add every feed of an OPML file, up to `max_sources` in all.

    Returns the added sources and (location, why) for each one skipped: already followed, invalid,
    or beyond the source cap (a SourceLimitError).
    """
    from bot.ingest.sources.opml import parse_opml

    added: list[Source] = []
    skipped: list[tuple[str, CatalogError]] = []
    for entry in parse_opml(content):
        kind = "feed" if entry.kind == "feed" else "file"
        try:
            added.append(
                add_source(
                    session,
                    location=entry.url,
                    kind=kind,
                    actor=actor,
                    name=entry.title or "",
                    max_sources=max_sources,
                )
            )
        except CatalogError as error:
            skipped.append((entry.url, error))
    return added, skipped


def export_sources(session: Session) -> str:
    from bot.ingest.sources.opml import OpmlEntry, export_opml

    sources = session.scalars(select(Source).where(Source.kind != "url").order_by(Source.id)).all()
    return export_opml(
        [OpmlEntry(url=s.location, title=s.name or s.location, category=None) for s in sources]
    )


def upsert_thread(session: Session, thread: ThreadDef, *, actor: str) -> Thread:
    """Add a thread, or replace its definition; articles are re-placed by `reclassify`."""
    row = session.get(Thread, thread.id)
    action = "thread.update" if row else "thread.add"
    if row is None:
        row = Thread(id=thread.id)
        session.add(row)
    row.name_en, row.name_ar, row.definition, row.active = (
        thread.name_en,
        thread.name_ar,
        thread.to_dict(),
        True,
    )
    session.flush()
    queries.audit(session, actor=actor, action=action, target=thread.id)
    return row


def add_glossary(session: Session, glossary: Glossary, *, actor: str) -> int:
    """Add glossary entries (replacing stored ones with the same kind and English form); how many."""
    row = session.get(Setting, GLOSSARY_KEY)
    stored = parse_glossary(row.value, where="stored glossary") if row is not None else Glossary()
    merged = stored.merged(glossary)
    if row is None:
        row = Setting(key=GLOSSARY_KEY, value={})
        session.add(row)
    row.value = merged.to_dict()
    session.flush()
    counts: dict[str, Any] = {kind: len(glossary.of(kind)) for kind in KINDS if glossary.of(kind)}
    queries.audit(session, actor=actor, action="glossary.add", target="glossary", details=counts)
    return len(glossary.terms)


def remove_thread(session: Session, thread_id: str, *, actor: str) -> None:
    row = session.get(Thread, thread_id)
    if row is None:
        raise CatalogError(f"no thread {thread_id}")
    row.active = False
    queries.audit(session, actor=actor, action="thread.remove", target=thread_id)


def reclassify(ctx: Context, *, thread_id: str | None = None) -> int:
    """Place every stored original article in the current threads; returns the links written."""
    from bot.ingest.pipeline import thread_links

    classifier = ctx.classifier()
    written = 0
    with ctx.db.session() as session:
        query = select(ArticleThread)
        if thread_id:
            query = query.where(ArticleThread.thread_id == thread_id)
        for link in session.scalars(query):
            session.delete(link)
        session.flush()
        for article in session.scalars(select(Article).where(Article.duplicate_of.is_(None))):
            matches = [
                m
                for m in classifier.classify(article.title, article.text)
                if thread_id is None or m.thread_id == thread_id
            ]
            links = thread_links(article.id, matches)
            if links:
                session.execute(insert(ArticleThread), links)
            written += len(matches)
    return written


def seed_defaults(ctx: Context) -> bool:
    """On first start, load the default threads and sources; later starts change nothing."""
    with ctx.db.session() as session:
        if session.get(Setting, SEEDED_KEY) is not None:
            return False
        for thread in load_threads(ctx.settings.threads_file or _seed_file("threads.toml")):
            upsert_thread(session, thread, actor="system:seed")
        for entry in _default_sources(ctx.settings.sources_file or _seed_file("sources.toml")):
            if queries.find_source(session, normalize_location(entry["location"])) is None:
                add_source(session, actor="system:seed", **entry)
        session.add(Setting(key=SEEDED_KEY, value={"at": ctx.now().isoformat()}))
    return True


def _seed_file(name: str) -> Path:
    return Path(str(resources.files("seeds") / name))


def _default_sources(path: Path) -> list[dict[str, Any]]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    entries = []
    for raw in data.get("sources", []):
        location = str(raw["location"])
        if not is_http_url(location) and not Path(location).is_absolute():
            location = str((path.parent / location).resolve())
        entries.append(
            {
                "location": location,
                "kind": raw.get("kind") or ("file" if not is_http_url(location) else "feed"),
                "name": raw.get("name", ""),
                "threads": list(raw.get("threads", [])),
            }
        )
    return entries
