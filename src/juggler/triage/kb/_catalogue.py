"""The starter catalogue shipped with juggler (``catalogue.yaml``, package data)."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import yaml

from ._model import Cause

__all__ = ["catalogue_examples", "load_catalogue", "parse_causes"]


@functools.cache
def _raw() -> tuple[dict[str, Any], ...]:
    text = resources.files(__package__).joinpath("catalogue.yaml").read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader is 10x faster
    data = yaml.load(text, Loader=loader)
    return tuple(data["causes"])


def parse_causes(data: object) -> list[Cause]:
    """Causes from a decoded JSON/YAML document: ``{"causes": [...]}`` or a bare list.

    Raises:
        ValueError: The document has another shape or a cause is malformed (one line).
    """
    items = data.get("causes") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValueError("expected a list of causes or a mapping with a 'causes' list")
    causes = []
    for n, item in enumerate(items, 1):
        try:
            causes.append(Cause.from_json(item))
        except ValueError as exc:
            raise ValueError(f"cause #{n}: {exc}") from None
    return causes


@functools.cache
def load_catalogue() -> tuple[Cause, ...]:
    """The starter catalogue: about 60 common causes of CI failure, parsed once per process."""
    return tuple(parse_causes(list(_raw())))


def catalogue_examples() -> dict[str, tuple[str, str]]:
    """For each starter cause, ``(excerpt it must match, excerpt it must not)``."""
    return {c["name"]: (c["examples"]["match"], c["examples"]["no_match"]) for c in _raw()}
