from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def lookup(mapping: object, key: object) -> object:
    """mapping[key] or "" — for names resolved by id in the transcript selector."""
    if isinstance(mapping, dict):
        return mapping.get(key, "")
    return ""
