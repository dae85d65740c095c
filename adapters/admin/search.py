"""Finding a setting by its path, label or help text, across the editable sections.

The index is the schema's own (``eventstore.schema.docs.setting_index``): every leaf setting with
the labels of the groups above it, so "session timeout" finds ``idle_timeout_minutes`` under
*Sessions*. Every word of the query must appear somewhere; a word in the label counts most, then
in the path, the groups' labels and the help. Each hit links to its input on the section page.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Final

import attrs

from eventstore.schema.docs import setting_index
from eventstore.schema.paths import PERSISTED_SECTIONS

MAX_HITS: Final = 50
_WORD: Final = re.compile(r"[^\s]+")


@attrs.frozen
class Hit:
    path: str
    section: str
    title: str
    label: str
    help: str
    score: int

    @property
    def dom_id(self) -> str:
        return "f-" + self.path.replace(".", "-")

    @property
    def url(self) -> str:
        """The section page, opened at the setting (``focus`` opens its groups without
        JavaScript; the fragment scrolls to its input)."""
        return f"/admin/settings/{self.section}?focus={self.path}#{self.dom_id}"

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "section": self.section,
            "title": self.title,
            "label": self.label,
            "help": self.help,
            "url": self.url,
        }


@functools.cache
def _entries() -> tuple[dict[str, str], ...]:
    return tuple(e for e in setting_index() if e["section"] in PERSISTED_SECTIONS)


def _score(entry: dict[str, str], words: list[str], query: str) -> int:
    label, path = entry["label"].lower(), entry["path"].lower()
    title, help_text = entry["title"].lower(), entry["help"].lower()
    score = 0
    for word in words:
        if word in label:
            score += 8
        elif word in path:
            score += 4
        elif word in title:
            score += 2
        elif word in help_text:
            score += 1
        else:
            return 0
    if query == path:
        score += 40
    elif query == label:
        score += 20
    return score


def search(query: str, limit: int = MAX_HITS) -> list[Hit]:
    """The settings matching every word of ``query``, best first (at most ``limit``)."""
    text = query.strip().lower()[:200]
    words = _WORD.findall(text)
    if not words:
        return []
    hits = [
        Hit(e["path"], e["section"], e["title"], e["label"], e["help"], score)
        for e in _entries()
        if (score := _score(e, words, text))
    ]
    hits.sort(key=lambda hit: (-hit.score, hit.path))
    return hits[:limit]


def index() -> list[dict[str, Any]]:
    """Every editable setting as the page's script searches it (the same fields as a hit)."""
    return [
        Hit(e["path"], e["section"], e["title"], e["label"], e["help"], 0).to_json()
        for e in _entries()
    ]
