"""Local files and folders (text, Markdown, HTML, JSON articles) turned into `RawItem`s.

A folder may hold a `manifest.toml` giving, per file, what the file itself cannot carry: its outlet,
its original URL and its publication date (the demo corpus ships one: seeds/manifest.toml).
"""

from __future__ import annotations

import json
import logging
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.ingest.charset import decode_body
from bot.ingest.sources.model import RawItem
from bot.ingest.sources.pages import ExtractionError, extract_page
from bot.ingest.sources.urls import is_http_url

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 5_000_000

_TEXT_KEYS = ("text", "content", "body")
_URL_KEYS = ("url", "link")
_DATE_KEYS = ("published", "date")
_OUTLET_KEYS = ("outlet", "source")
_GUID_KEYS = ("guid", "id")
MANIFEST = "manifest.toml"


class SourceFileError(ValueError):
    """A local file that cannot be read as articles."""


class UnsupportedFile(SourceFileError):
    """A file whose extension newsbrief does not read."""


@dataclass(slots=True)
class FolderRead:
    """The articles of a file or folder, and the files left out with the reason for each."""

    items: list[RawItem] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def read_path(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> list[RawItem]:
    """Articles of one file, or of every supported file under a folder (unreadable ones are logged)."""
    result = scan_path(path, max_bytes=max_bytes)
    for skipped, reason in result.skipped:
        log.info("skipped %s: %s", skipped, reason)
    return result.items


def scan_path(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> FolderRead:
    """Like `read_path`, but returns the skipped files of a folder instead of logging them.

    A single file that cannot be read raises SourceFileError (UnsupportedFile for its extension);
    in a folder, such files are skipped so one bad file does not hide the others.
    """
    if not path.exists():
        raise SourceFileError(f"{path} does not exist")
    if not path.is_dir():
        manifest = _manifest_or_empty(path.parent, FolderRead())
        return FolderRead(items=_described(path, read_file(path, max_bytes=max_bytes), manifest))
    result = FolderRead()
    manifest = _manifest_or_empty(path, result)
    for file in _visible_files(path):
        if file.name == MANIFEST and file.parent == path:
            continue
        try:
            result.items.extend(_described(file, read_file(file, max_bytes=max_bytes), manifest))
        except (SourceFileError, OSError) as error:
            result.skipped.append((file, str(error)))
    return result


def read_manifest(folder: Path) -> dict[Path, dict[str, str]]:
    """`folder/manifest.toml`: per file (resolved path), its outlet, url and published date, as given.

    Format: one `[[articles]]` table per file, with `file` (relative to the folder) and any of
    `outlet`, `url` (http or https) and `published` (ISO 8601); other keys (`basis`, `note`) are for
    the reader. Raises SourceFileError when the manifest is not valid.
    """
    path = folder / MANIFEST
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(decode_body(path.read_bytes()).text)
    except tomllib.TOMLDecodeError as error:
        raise SourceFileError(f"{path}: not valid TOML ({error})") from None
    entries = data.get("articles", [])
    if not isinstance(entries, list):
        raise SourceFileError(f"{path}: 'articles' must be an array of tables ([[articles]])")
    found: dict[Path, dict[str, str]] = {}
    for i, entry in enumerate(entries):
        where = f"{path} articles[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            raise SourceFileError(f"{where}: each entry needs a 'file'")
        fields = {k: str(v) for k, v in entry.items() if k in {"outlet", "url", "published"} and v != ""}
        if "url" in fields and not is_http_url(fields["url"]):
            raise SourceFileError(f"{where}: 'url' must be an http(s) URL, got {fields['url'][:100]!r}")
        _published(fields.get("published"), where)  # refused now, not when the file is read
        found[(folder / entry["file"]).resolve()] = fields
    return found


def _manifest_or_empty(folder: Path, result: FolderRead) -> dict[Path, dict[str, str]]:
    # A broken manifest must not hide the articles: they are read without it, and it is reported.
    try:
        return read_manifest(folder)
    except (SourceFileError, OSError) as error:
        result.skipped.append((folder / MANIFEST, str(error)))
        log.warning("%s", error)
        return {}


def _described(path: Path, items: list[RawItem], manifest: dict[Path, dict[str, str]]) -> list[RawItem]:
    """Items of `path` with what the manifest says of it (only where the file says nothing)."""
    fields = manifest.get(path.resolve())
    if not fields:
        return items
    for item in items:
        item.outlet = item.outlet or fields.get("outlet")
        item.url = item.url or fields.get("url")
        item.published = item.published or _published(fields.get("published"), str(path))
    return items


def read_file(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> list[RawItem]:
    """Articles of one file, by its extension (.txt, .md, .html, .htm, .json)."""
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        supported = ", ".join(sorted(_READERS))
        raise UnsupportedFile(f"{path}: unsupported file type {path.suffix or '(none)'!r}; use {supported}")
    size = path.stat().st_size
    if size > max_bytes:
        raise SourceFileError(f"{path} is {size:,} bytes, more than the {max_bytes:,} allowed")
    return reader(path, path.read_bytes())


def _visible_files(folder: Path) -> list[Path]:
    files = (p for p in folder.rglob("*") if p.is_file())
    return sorted(p for p in files if not any(part.startswith(".") for part in p.relative_to(folder).parts))


def _guid(path: Path) -> str:
    return f"file:{path.resolve().as_posix()}"


def _read_text(path: Path, content: bytes) -> list[RawItem]:
    # Title and date are left to the pipeline (headline line, a date in the text). The file's
    # modification time says when it was copied, not when the article was published: it is not used.
    decoded = decode_body(content)
    return [RawItem(title="", text=decoded.text, guid=_guid(path), extra={"plain": "1", "charset": decoded.rule})]


def _read_html(path: Path, content: bytes) -> list[RawItem]:
    try:
        item = extract_page(content, url=None)
    except ExtractionError as error:
        raise SourceFileError(f"{path}: {error}") from None
    item.guid = item.url or _guid(path)
    return [item]


def _read_json(path: Path, content: bytes) -> list[RawItem]:
    try:
        data = json.loads(decode_body(content).text)
    except json.JSONDecodeError as error:
        raise SourceFileError(f"{path}: not valid JSON ({error})") from None
    if isinstance(data, dict):
        return [_json_article(data, path, guid=_guid(path), where=str(path))]
    if isinstance(data, list):
        return [
            _json_article(a, path, guid=f"{_guid(path)}#{i}", where=f"{path}[{i}]")
            for i, a in enumerate(data)
        ]
    raise SourceFileError(
        f"{path}: expected an article object or a list of them, found {type(data).__name__}"
    )


def _json_article(data: Any, path: Path, *, guid: str, where: str) -> RawItem:
    if not isinstance(data, dict):
        raise SourceFileError(f"{where}: expected an article object, found {type(data).__name__}")
    text = _field(data, _TEXT_KEYS, where)
    if not text or not text.strip():
        raise SourceFileError(f"{where}: an article needs a non-empty 'text' (or 'content', 'body')")
    url = _field(data, _URL_KEYS, where)
    if url is not None and not is_http_url(url):
        raise SourceFileError(f"{where}: 'url' must be an http(s) URL, got {url[:100]!r}")
    return RawItem(
        title=(_field(data, ("title",), where) or "").strip(),
        text=text,
        url=url,
        guid=_field(data, _GUID_KEYS, where) or url or guid,
        published=_published(_field(data, _DATE_KEYS, where), where),
        outlet=_field(data, _OUTLET_KEYS, where),
    )


def _field(data: dict[str, Any], keys: tuple[str, ...], where: str) -> str | None:
    for key in keys:
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str | int):
            raise SourceFileError(f"{where}: {key!r} must be a string, found {type(value).__name__}")
        return str(value)
    return None


def _published(value: str | None, where: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise SourceFileError(f"{where}: the date {value[:40]!r} is not ISO 8601") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


_READERS: dict[str, Callable[[Path, bytes], list[RawItem]]] = {
    ".txt": _read_text,
    ".md": _read_text,
    ".html": _read_html,
    ".htm": _read_html,
    ".json": _read_json,
}
