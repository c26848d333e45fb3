"""Reading and writing KB documents (causes, incidents) as JSON or YAML."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from ._catalogue import parse_causes
from ._errors import CatalogueError
from ._model import Cause, Incident

__all__ = ["dump_document", "load_document", "parse_document"]


def load_document(path: str, text: str | None = None) -> Any:
    """Decode ``path`` (or ``text`` read from it) as YAML or JSON (JSON is YAML, nearly).

    Raises:
        CatalogueError: The file cannot be read or decoded (one line naming it).
    """
    try:
        raw = Path(path).read_text(encoding="utf-8") if text is None else text
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogueError(
            path, f"cannot read: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    try:
        if path.endswith(".json"):
            return json.loads(raw)
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        return yaml.load(raw, Loader=loader)
    except json.JSONDecodeError as exc:
        raise CatalogueError(path, f"invalid JSON at line {exc.lineno}: {exc.msg}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise CatalogueError(path, f"invalid YAML{where}") from None


def parse_document(path: str, data: Any) -> tuple[list[Cause], list[Incident]]:
    """Causes and incidents of a decoded document.

    Accepted shapes: ``{"causes": [...], "incidents": [...]}`` (either key optional), a
    bare list of causes, or one cause mapping.

    Raises:
        CatalogueError: Another shape, or a malformed entry (one line naming it).
    """
    try:
        if isinstance(data, dict) and ("causes" in data or "incidents" in data):
            causes = parse_causes(data.get("causes") or [])
            raw_incidents = data.get("incidents") or []
            if not isinstance(raw_incidents, list):
                raise ValueError("'incidents' must be a list")
            incidents = []
            for n, item in enumerate(raw_incidents, 1):
                try:
                    incidents.append(Incident.from_json(item))
                except ValueError as exc:
                    raise ValueError(f"incident #{n}: {exc}") from None
            return causes, incidents
        if isinstance(data, dict):
            return [Cause.from_json(data)], []
        return parse_causes(data), []
    except ValueError as exc:
        raise CatalogueError(path, str(exc)) from None


def dump_document(data: dict[str, Any], *, fmt: str) -> str:
    """``data`` as ``"json"`` or ``"yaml"`` text."""
    if fmt == "yaml":
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
