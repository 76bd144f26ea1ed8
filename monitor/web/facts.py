"""Stored JSON objects (evidence, a finding's numbers) as the templates read them.

Jinja reads ``ev.published.quote`` by trying an attribute, then a key, and builds an ``Undefined`` when
neither is there: two exceptions for every optional fact a page asks about, and the agency page asks
about dozens of them (a tenth of its time). ``Facts`` answers ``facts.key`` with the value or ``None``
directly; it is still a ``dict`` for the Python code and for JSON.
"""

from __future__ import annotations

from typing import Any


class Facts(dict):
    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # protocols (``__html__``, ``__deepcopy__`` …) are not facts
            raise AttributeError(name)
        return self.get(name)


def facts(value: Any) -> Any:
    """``value`` with its objects, and the objects in its lists, as ``Facts`` (one level of lists deep is
    all the stored evidence has)."""
    if isinstance(value, dict):
        return Facts((k, _list_facts(v)) for k, v in value.items())
    return _list_facts(value)


def _list_facts(value: Any) -> Any:
    if isinstance(value, list):
        return [Facts(v) if isinstance(v, dict) else v for v in value]
    if isinstance(value, dict) and not isinstance(value, Facts):
        return Facts(value)
    return value
