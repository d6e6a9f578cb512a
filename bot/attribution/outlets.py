"""Outlets as data: who publishes what newsbrief cites (country, ownership, wire), looked up by URL or name.

`seeds/outlets.toml` is the shipped catalogue; admins add or correct entries with `newsbrief outlets add`,
stored in the database and laid over the seeds by id, so a correction needs no release. An article
whose domain and name match no entry is *unknown*: its outlet is never guessed.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from babel import Locale
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.orm import Session

from bot.text.normalize import normalize
from storage import queries
from storage.models import Setting

Ownership = Literal["state", "state-funded", "public", "private"]
STATE_MEDIA: frozenset[str] = frozenset({"state", "state-funded"})
STORED_KEY = "outlets"  # the app_state row holding the admins' entries, by id


class OutletError(ValueError):
    """An outlets file is malformed; the message says which entry and why."""


class Outlet(BaseModel):
    """One outlet and the facts a reader needs to weigh what it says."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=80)
    name_en: str = Field(min_length=1, max_length=200)
    name_ar: str = Field(min_length=1, max_length=200)
    country: str = Field(pattern=r"^[A-Z]{2}$")
    ownership: Ownership
    wire: bool = False
    languages: tuple[str, ...] = Field(min_length=1)
    domains: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    source: str = Field(min_length=1, max_length=500)

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str) -> str:
        if value not in Locale("en").territories:
            raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
        return value

    @field_validator("languages")
    @classmethod
    def _language_codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [code for code in value if len(code) != 2 or not code.isalpha() or not code.islower()]
        if bad:
            raise ValueError(f"languages must be ISO 639-1 codes like 'ar', 'en', not {bad}")
        return value

    @field_validator("domains")
    @classmethod
    def _domains(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(_domain_key(d) for d in value)
        bad = [d for d, c in zip(value, cleaned, strict=True) if not c or "." not in c.split("/")[0]]
        if bad:
            raise ValueError(f"domains must be host names like 'rt.com' or 'bbc.com/arabic', not {bad}")
        return cleaned

    @property
    def state_media(self) -> bool:
        """Owned or funded by a state: what the corroboration line counts as state media."""
        return self.ownership in STATE_MEDIA

    def name(self, lang: str) -> str:
        """The outlet's name in `lang` (English for any other language)."""
        return self.name_ar if lang == "ar" else self.name_en


class Country(BaseModel):
    """How a country is named in labels; anything missing comes from the CLDR (Babel)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name_en: str = ""
    name_ar: str = ""
    adjective_en: str = ""
    adjective_ar: str = ""


class OutletFile(BaseModel):
    """An outlets TOML file: the outlets, and optionally country names and thread parties."""

    model_config = ConfigDict(extra="forbid")

    outlets: list[Outlet] = []
    countries: dict[str, Country] = {}
    parties: dict[str, str] = {}


@dataclass(frozen=True, slots=True)
class OutletInfo:
    """What a citation shows about its outlet: JSON-ready, stored in brief payloads."""

    known: bool
    id: str = ""
    name: str = ""
    country: str = ""
    ownership: str = ""
    wire: bool = False
    state_media: bool = False
    country_name: str = ""  # in the language asked for, like `name`
    adjective: str = ""  # "North Korean" / «كوري شمالي», "" when the catalogue has none

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form."""
        return asdict(self)


UNKNOWN = OutletInfo(known=False)


@dataclass(slots=True)
class Catalogue:
    """The outlets in force, with lookups by URL (domain, subdomain, path) and by name."""

    outlets: dict[str, Outlet]
    countries: dict[str, Country] = field(default_factory=dict)
    parties: dict[str, str] = field(default_factory=dict)
    _domains: dict[str, str] = field(default_factory=dict, init=False)
    _names: dict[str, str] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        for outlet in self.outlets.values():
            for domain in outlet.domains:
                self._domains[domain] = outlet.id
            for name in (outlet.name_en, outlet.name_ar, *outlet.names):
                key = _name_key(name)
                if key:
                    # A later entry (an admin's) wins over a seed naming the same thing.
                    self._names[key] = outlet.id

    def lookup(self, url: str | None = None, name: str = "") -> Outlet | None:
        """The outlet of an article: by its URL's domain first, then by the outlet or source name."""
        found = self._by_url(url) if url else None
        if found is None and name:
            found = self._names.get(_name_key(name))
        return self.outlets.get(found) if found else None

    def info(self, url: str | None = None, name: str = "", *, lang: str = "en") -> OutletInfo:
        """The citation facts of an article's outlet, or UNKNOWN."""
        outlet = self.lookup(url, name)
        if outlet is None:
            return UNKNOWN
        return OutletInfo(
            known=True,
            id=outlet.id,
            name=outlet.name(lang),
            country=outlet.country,
            ownership=outlet.ownership,
            wire=outlet.wire,
            state_media=outlet.state_media,
            country_name=self.country_name(outlet.country, lang),
            adjective=self.adjective(outlet.country, lang),
        )

    def _by_url(self, url: str) -> str | None:
        parts = urlsplit(url if "://" in url else f"//{url}")
        host = (parts.hostname or "").lower().removeprefix("www.")
        path = parts.path.lower()
        labels = host.split(".")
        for i in range(len(labels) - 1):  # arabic.rt.com, then rt.com; never a bare "com"
            domain = ".".join(labels[i:])
            for prefix in _path_prefixes(path):
                found = self._domains.get(f"{domain}{prefix}")
                if found:
                    return found
        return None

    def parties_of(self, group_ids: Iterable[str]) -> set[str]:
        """The countries of a thread's sides (its group ids), where the catalogue knows them."""
        return {self.parties[g] for g in group_ids if g in self.parties}

    def country_name(self, code: str, lang: str) -> str:
        """A country's short name in `lang`."""
        entry = self.countries.get(code)
        own = (entry.name_ar if lang == "ar" else entry.name_en) if entry else ""
        return own or Locale(lang if lang in ("ar", "en") else "en").territories.get(code, code)

    def adjective(self, code: str, lang: str) -> str:
        """ "North Korean" / «كوري شمالي», or "" when the catalogue has none."""
        entry = self.countries.get(code)
        if entry is None:
            return ""
        return entry.adjective_ar if lang == "ar" else entry.adjective_en


def _path_prefixes(path: str) -> list[str]:
    """'/ar/news/x' -> ['/ar/news/x', '/ar/news', '/ar', '']: the longest path entry wins."""
    segments = [s for s in path.split("/") if s]
    return [("/" + "/".join(segments[:i])) if i else "" for i in range(len(segments), -1, -1)]


def _domain_key(domain: str) -> str:
    text = domain.strip().lower()
    text = text.split("://", 1)[-1].removeprefix("www.").rstrip("/")
    return text


def _name_key(name: str) -> str:
    return " ".join(normalize(name).split())


# ---------------------------------------------------------------- loading


def parse_outlets(text: str, *, where: str = "outlets file") -> OutletFile:
    """Validate an outlets TOML text; raise OutletError naming the bad entry."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise OutletError(f"{where}: not valid TOML: {error}") from None
    try:
        parsed = OutletFile.model_validate(data)
    except ValidationError as error:
        raise OutletError(f"{where}: {_explain(error, data)}") from None
    _check_unique(parsed.outlets, where)
    return parsed


def load_outlets(path: str | Path) -> OutletFile:
    """Read and validate an outlets file."""
    path = Path(path)
    return parse_outlets(path.read_text(encoding="utf-8"), where=str(path))


def _explain(error: ValidationError, data: Mapping[str, Any]) -> str:
    problems = []
    for item in error.errors()[:5]:
        loc = item["loc"]
        where = ".".join(str(p) for p in loc)
        if len(loc) >= 2 and loc[0] == "outlets" and isinstance(loc[1], int):
            raw = data.get("outlets", [])
            entry_id = (
                raw[loc[1]].get("id", "?") if loc[1] < len(raw) and isinstance(raw[loc[1]], dict) else "?"
            )
            where = f"outlet {entry_id!r} ({'.'.join(str(p) for p in loc[2:]) or 'entry'})"
        problems.append(f"{where}: {item['msg']}")
    return "; ".join(problems)


def _check_unique(outlets: Sequence[Outlet], where: str) -> None:
    """One id, one domain, one name per outlet within a file: an ambiguous lookup would be a guess."""
    seen: dict[str, str] = {}
    for outlet in outlets:
        keys = [f"id {outlet.id}"]
        keys += [f"domain {d}" for d in outlet.domains]
        keys += [
            f"name {_name_key(n)}" for n in {outlet.name_en, outlet.name_ar, *outlet.names} if _name_key(n)
        ]
        for key in dict.fromkeys(keys):
            other = seen.setdefault(key, outlet.id)
            if other != outlet.id:
                raise OutletError(f"{where}: {key!r} belongs to both {other!r} and {outlet.id!r}")


def seed_path() -> Path:
    """The catalogue shipped with newsbrief (seeds/outlets.toml)."""
    return Path(str(resources.files("seeds") / "outlets.toml"))


@lru_cache(maxsize=4)
def _seed_file(path: str, mtime: float) -> OutletFile:
    return load_outlets(path)


def seed_catalogue(path: str | Path | None = None) -> OutletFile:
    """The shipped catalogue, parsed once per file version."""
    target = Path(path) if path else seed_path()
    return _seed_file(str(target), target.stat().st_mtime)


def stored_entries(session: Session) -> dict[str, Any]:
    """The admins' entries: {"outlets": {id: entry}, "countries": {...}, "parties": {...}}."""
    row = session.get(Setting, STORED_KEY)
    value = dict(row.value) if row is not None else {}
    return {
        "outlets": dict(value.get("outlets", {})),
        "countries": dict(value.get("countries", {})),
        "parties": dict(value.get("parties", {})),
    }


def catalogue(session: Session | None = None, *, seed: str | Path | None = None) -> Catalogue:
    """The outlets in force: the seeds, with the admins' entries laid over them by id."""
    base = seed_catalogue(seed)
    outlets = {o.id: o for o in base.outlets}
    countries, parties = dict(base.countries), dict(base.parties)
    if session is not None:
        stored = stored_entries(session)
        for entry in stored["outlets"].values():
            outlet = Outlet.model_validate(entry)
            outlets.pop(outlet.id, None)  # re-inserted last, so its domains and names win
            outlets[outlet.id] = outlet
        countries.update({k: Country.model_validate(v) for k, v in stored["countries"].items()})
        parties.update(stored["parties"])
    return Catalogue(outlets, countries, parties)


@dataclass(frozen=True, slots=True)
class Added:
    """One stored entry: its id, "added" or "updated", and the domains it took from other outlets."""

    id: str
    action: str
    moved: tuple[str, ...] = ()


def add_outlets(session: Session, parsed: OutletFile, *, actor: str) -> list[Added]:
    """Store an admin's outlets (by id: a known id is replaced), each change audited.

    A domain another outlet listed now points to the new entry; the result says so (`moved`).
    """
    current = catalogue(session)
    stored = stored_entries(session)
    done: list[Added] = []
    for outlet in parsed.outlets:
        action = "updated" if outlet.id in current.outlets else "added"
        moved = tuple(
            f"{domain} (was {owner})"
            for domain in outlet.domains
            if (owner := current._domains.get(domain)) is not None and owner != outlet.id
        )
        stored["outlets"][outlet.id] = outlet.model_dump(mode="json")
        details = {"country": outlet.country, "ownership": outlet.ownership, "wire": outlet.wire}
        if moved:
            details["moved"] = list(moved)
        queries.audit(
            session,
            actor=actor,
            action=f"outlet.{'update' if action == 'updated' else 'add'}",
            target=outlet.id,
            details=details,
        )
        done.append(Added(outlet.id, action, moved))
    for code, country in parsed.countries.items():
        stored["countries"][code] = country.model_dump(mode="json")
    if parsed.parties:
        stored["parties"].update(parsed.parties)
        queries.audit(session, actor=actor, action="outlet.parties", target="", details=dict(parsed.parties))
    row = session.get(Setting, STORED_KEY)
    if row is None:
        session.add(Setting(key=STORED_KEY, value=stored))
    else:
        row.value = stored
    session.flush()
    return done
