"""Reading and writing KB documents (causes, incidents) as JSON or YAML.

An import file is untrusted input: whatever it holds — nesting a thousand levels deep,
numbers of ten thousand digits, ``NaN`` timestamps, invalid UTF-8, a truncated document,
the wrong types — it is refused with one :class:`CatalogueError` line naming the file and
the reason, never an internal error.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import yaml

from ._catalogue import parse_causes
from ._errors import CatalogueError
from ._model import Cause, Incident
from ._schema import validate

__all__ = ["dump_document", "load_document", "parse_document"]

#: Deepest nesting an import may have (a KB document needs 4 levels; 64 leaves room).
MAX_DEPTH = 64
#: Largest import file read (a KB export of 100,000 incidents is about 60 MiB).
MAX_IMPORT_BYTES = 256 * 1024 * 1024


def _too_deep(data: Any, limit: int = MAX_DEPTH) -> bool:
    """True if ``data`` nests lists/mappings deeper than ``limit`` (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _read(path: str) -> str:
    try:
        if os.stat(path).st_size > MAX_IMPORT_BYTES:
            raise CatalogueError(path, f"larger than {MAX_IMPORT_BYTES >> 20} MiB")
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CatalogueError(path, f"not UTF-8 (byte {exc.start})") from None
    except OSError as exc:
        raise CatalogueError(path, f"cannot read: {exc.strerror or exc}") from None


def load_document(path: str, text: str | None = None) -> Any:
    """Decode ``path`` (or ``text`` read from it) as YAML or JSON (JSON is YAML, nearly).

    Raises:
        CatalogueError: The file cannot be read or decoded (one line naming it).
    """
    raw = _read(path) if text is None else text
    try:
        if path.endswith(".json"):
            data = json.loads(raw)
        else:
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            data = yaml.load(raw, Loader=loader)
    except json.JSONDecodeError as exc:
        raise CatalogueError(path, f"invalid JSON at line {exc.lineno}: {exc.msg}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise CatalogueError(path, f"invalid YAML{where}") from None
    except RecursionError:
        raise CatalogueError(path, f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # an integer of more than 4,300 digits
        raise CatalogueError(path, f"invalid number: {str(exc).split(';')[0]}") from None
    if _too_deep(data):
        raise CatalogueError(path, f"nested deeper than {MAX_DEPTH} levels")
    return data


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
            return _checked(causes, incidents), incidents
        if isinstance(data, dict):
            return _checked([Cause.from_json(data)], []), []
        return _checked(parse_causes(data), []), []
    except CatalogueError as exc:
        raise CatalogueError(path, f"{exc.subject}: {exc.reason}") from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise CatalogueError(path, " ".join(str(exc).split())[:200] or type(exc).__name__) from None


def _checked(causes: list[Cause], incidents: list[Incident]) -> list[Cause]:
    """Refuse what the store would choke on: bad regexes, non-finite or absurd timestamps."""
    for cause in causes:
        validate(cause)  # the store's own check, so a bad regex is the file's fault (exit 3)
    for n, incident in enumerate(incidents, 1):
        if not math.isfinite(incident.created_at) or not 0 <= incident.created_at < 1e11:
            raise ValueError(f"incident #{n}: 'created_at' must be a Unix time in seconds")
    return causes


def dump_document(data: dict[str, Any], *, fmt: str) -> str:
    """``data`` as ``"json"`` or ``"yaml"`` text."""
    if fmt == "yaml":
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
