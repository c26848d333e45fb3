"""The knowledge base's public surface and layering, pinned."""

from __future__ import annotations

import ast
import types
from pathlib import Path

import juggler.triage.kb as kb


def test_public_names_are_exactly_all() -> None:
    """Everything public in ``juggler.triage.kb`` is in ``__all__`` and nothing else is."""
    for name in dir(kb):  # the names load lazily: resolve every one the package offers
        getattr(kb, name)
    public = sorted(
        name
        for name, value in vars(kb).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    )
    assert sorted(kb.__all__) == public


def test_kb_uses_no_engine_internals() -> None:
    """Nothing under ``triage/kb`` imports ``juggler.engine`` (public names come via juggler)."""
    offenders = []
    for path in Path(kb.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "juggler.engine"
            ):
                offenders.append(f"{path.name}: {node.module}")
            if isinstance(node, ast.Import):
                offenders += [
                    f"{path.name}: {a.name}"
                    for a in node.names
                    if a.name.startswith("juggler.engine")
                ]
    assert offenders == []


def test_an_unknown_name_is_an_attribute_error() -> None:
    # hasattr() and ``from kb import x`` rely on AttributeError, not an import failure.
    assert not hasattr(kb, "no_such_name")
    assert "open_store" in dir(kb)
