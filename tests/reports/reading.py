"""How the language tests read a rendered report: message templates as patterns, HTML as the text shown."""
from __future__ import annotations

import re


def literal(template: str) -> str:
    """A regular expression for a text with {placeholders}: any value on the same line may stand in."""
    parts = re.split(r"\{[^{}]*\}", template)
    return "[^\n]*?".join(re.escape(p) for p in parts)


def visible(page: str, fmt: str) -> str:
    """What a reader sees: an HTML page without its tags and entities (escaping is not translation)."""
    if fmt != "html":
        return page
    import html as markup

    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return markup.unescape(re.sub(r"<[^>]+>", "\n", page))
