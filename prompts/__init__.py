"""LLM prompt templates shipped as text files, rendered with strict `$variables`.

A template is `prompts/<name>.txt`: a `=== system ===` line, the system message, a `=== user ===`
line, the user message; lines above the system marker describe the template and are never sent.
Every `$name` must be supplied and every supplied variable must be used (`$$` is a literal `$`).
Text that came from outside (articles, passages, chat history, model output) goes in through
`block()` / `quote_untrusted()`, so it cannot close its own delimiter and pose as instructions.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from string import Template
from typing import Any

SYSTEM_MARKER = "=== system ==="
USER_MARKER = "=== user ==="
VERSION_LENGTH = 12

# `<` or a look-alike that NFKC folds to `<`, followed by what would start a tag: "</x", "<x", "<!".
_TAG_START = re.compile(r"(?:[<\uff1c\ufe64]|&lt;|&#0*60;|&#x0*3c;)(?=\s*[/!?]?\s*[^\W\d_])", re.IGNORECASE)
_ATTRIBUTE_NAME = re.compile(r"[a-z][a-z0-9_]*")
_ATTRIBUTE_UNSAFE = re.compile(r"[\"<>\uff1c\uff1e\ufe64\ufe65\r\n]")
_TAG_NAME = re.compile(r"[a-z][a-z0-9_]*")


class PromptError(ValueError):
    """A template is missing, malformed, or was given the wrong variables."""


@dataclass(frozen=True, slots=True)
class RenderedPrompt:
    """The two chat messages of one rendered template, and the template's version."""

    system: str
    user: str
    version: str


_ID = {"type": ["string", "integer"]}

# Output schemas, next to the templates that ask for them (the subset bot.llm validates).
SCHEMAS: dict[str, dict[str, Any]] = {
    "summarize_story": {
        "type": "object",
        "required": ["headline", "bullets"],
        "properties": {
            "headline": {"type": "string", "minLength": 1},
            "bullets": {
                "type": "array",
                "minItems": 1,
                "maxItems": 3,
                "items": {
                    "type": "object",
                    "required": ["text", "cites"],
                    "properties": {
                        "text": {"type": "string", "minLength": 1},
                        "cites": {"type": "array", "minItems": 1, "items": _ID},
                        "kind": {"type": "string", "enum": ["official", "reporting", "analysis"]},
                    },
                },
            },
        },
    },
    "answer_question": {
        "type": "object",
        "required": ["answer", "cites", "covered"],
        "properties": {
            "answer": {"type": "string"},
            "cites": {"type": "array", "items": _ID},
            "covered": {"type": "boolean"},
        },
    },
    "rewrite_question": {
        "type": "object",
        "required": ["question"],
        "properties": {"question": {"type": "string", "minLength": 1}},
    },
    "translate_query": {
        "type": "object",
        "required": ["query"],
        "properties": {"query": {"type": "string", "minLength": 1}},
    },
}
SCHEMAS["summarize_story_bilingual"] = {
    "type": "object",
    "required": ["ar", "en"],
    "properties": {"ar": SCHEMAS["summarize_story"], "en": SCHEMAS["summarize_story"]},
}
# A repair answers in the schema of the output it repairs; callers pass that one.
SCHEMAS["repair"] = SCHEMAS["summarize_story"]


def render(name: str, **variables: str) -> RenderedPrompt:
    """Render template `name` with exactly the variables it names."""
    system, user = _templates(name)
    expected = set(system.get_identifiers()) | set(user.get_identifiers())
    missing = sorted(expected - variables.keys())
    if missing:
        raise PromptError(f"prompt {name!r} needs variable(s) {', '.join(missing)}")
    extra = sorted(variables.keys() - expected)
    if extra:
        raise PromptError(f"prompt {name!r} does not use variable(s) {', '.join(extra)}")
    not_text = sorted(key for key, value in variables.items() if not isinstance(value, str))
    if not_text:
        raise PromptError(f"prompt {name!r}: variable(s) {', '.join(not_text)} must be str")
    # Each part is substituted on its own, so inserted text can never move the system/user split.
    return RenderedPrompt(
        system=system.substitute(variables).strip(),
        user=user.substitute(variables).strip(),
        version=version(name),
    )


def version(name: str) -> str:
    """Short hash of template `name`'s text: changes whenever the template does."""
    return hashlib.sha256(_template_text(name).encode("utf-8")).hexdigest()[:VERSION_LENGTH]


def list_prompts() -> list[str]:
    """Names of the shipped templates, sorted."""
    folder = resources.files(__name__)
    return sorted(
        entry.name.removesuffix(".txt") for entry in folder.iterdir() if entry.name.endswith(".txt")
    )


def schema(name: str) -> dict[str, Any]:
    """The JSON schema of what template `name` asks the model to return (a copy: safe to extend)."""
    try:
        return copy.deepcopy(SCHEMAS[name])
    except KeyError:
        raise PromptError(f"prompt {name!r} has no output schema") from None


def quote_untrusted(text: str) -> str:
    """Neutralise anything in `text` that could open or close a delimiter tag."""
    # U+2039 looks like "<" to a reader but is not a tag to the model or to us.
    return _TAG_START.sub("\u2039", text)


def block(tag: str, text: str, **attributes: str | int) -> str:
    """Wrap untrusted `text` in `<tag attr="…">…</tag>`, neutralising delimiters inside it."""
    if not _TAG_NAME.fullmatch(tag):
        raise PromptError(f"block tag {tag!r} must be lowercase letters, digits or _")
    parts = [tag]
    for key, value in attributes.items():
        if not _ATTRIBUTE_NAME.fullmatch(key):
            raise PromptError(f"block attribute {key!r} must be lowercase letters, digits or _")
        parts.append(f'{key}="{_ATTRIBUTE_UNSAFE.sub(" ", str(value)).strip()}"')
    return f"<{' '.join(parts)}>\n{quote_untrusted(text).strip()}\n</{tag}>"


def blocks(tag: str, items: Iterable[tuple[str | int, str]]) -> str:
    """Several `block(tag, text, id=…)` separated by blank lines; `(none)` when there are none."""
    rendered = [block(tag, text, id=item_id) for item_id, text in items]
    return "\n\n".join(rendered) if rendered else "(none)"


@cache
def _template_text(name: str) -> str:
    if not _TAG_NAME.fullmatch(name):
        raise PromptError(f"prompt name {name!r} must be lowercase letters, digits or _")
    resource = resources.files(__name__).joinpath(f"{name}.txt")
    if not resource.is_file():
        raise PromptError(f"no prompt named {name!r} (known: {', '.join(list_prompts())})")
    return resource.read_text(encoding="utf-8")


@cache
def _templates(name: str) -> tuple[Template, Template]:
    lines = _template_text(name).splitlines()
    if lines.count(SYSTEM_MARKER) != 1 or lines.count(USER_MARKER) != 1:
        raise PromptError(f"prompt {name!r} needs one {SYSTEM_MARKER!r} line and one {USER_MARKER!r} line")
    system_at, user_at = lines.index(SYSTEM_MARKER), lines.index(USER_MARKER)
    if not system_at < user_at:
        raise PromptError(f"prompt {name!r}: the system part must come before the user part")
    parts = (Template("\n".join(lines[system_at + 1 : user_at])), Template("\n".join(lines[user_at + 1 :])))
    if not all(part.is_valid() for part in parts):
        raise PromptError(f"prompt {name!r} has a malformed $placeholder (write $$ for a literal $)")
    return parts
