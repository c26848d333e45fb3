"""The public surface and the layering, pinned."""

from __future__ import annotations

import ast
import types
from pathlib import Path

import juggler

SRC = Path(juggler.__file__).parent


def test_public_names_are_exactly_all() -> None:
    """Everything public in ``juggler`` is in ``__all__`` and nothing else is."""
    public = sorted(
        name
        for name, value in vars(juggler).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    )
    assert sorted(n for n in juggler.__all__ if n != "__version__") == public


def _imports(path: Path) -> list[str]:
    return _imports_of_source(path.read_text(), path)


def _imports_of_source(source: str, path: Path) -> list[str]:
    """Absolute names of every module that ``source`` (living at ``path``) imports."""
    package = path.relative_to(SRC.parent).with_suffix("").parts[:-1]
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            if node.module:
                found.append(".".join([*base, node.module]))
            else:  # ``from .. import engine``: the names are the modules
                found.extend(".".join([*base, alias.name]) for alias in node.names)
    return found


def test_engine_imports_nothing_from_the_rest_of_the_package() -> None:
    """``juggler/engine`` is a library on its own: no triage, server, CLI or top-level imports."""
    offenders = [
        f"{path.relative_to(SRC)} imports {name}"
        for path in (SRC / "engine").rglob("*.py")
        for name in _imports(path)
        if name.startswith("juggler.") and not name.startswith("juggler.engine")
    ]
    assert offenders == []


def test_triage_uses_only_the_public_engine_api() -> None:
    """``juggler/triage`` never reaches into ``juggler.engine`` internals."""
    offenders = [
        f"{path.relative_to(SRC)} imports {name}"
        for path in (SRC / "triage").rglob("*.py")
        for name in _imports(path)
        if name.startswith("juggler.engine")
    ]
    assert offenders == []


def test_layering_check_sees_relative_imports() -> None:
    """The import walker resolves relative imports, so the two checks above can fail."""
    where = SRC / "triage" / "scrape" / "_probe.py"
    assert _imports_of_source("from ...engine._run import x\n", where) == ["juggler.engine._run"]
    assert _imports_of_source("from .. import cli\n", where) == ["juggler.triage.cli"]


def test_runtime_names_are_public() -> None:
    """The shared runtime, its statistics and its back-pressure error are public names."""
    for name in ("Runtime", "RuntimeBusy", "RuntimeStatistics"):
        assert name in juggler.__all__
    assert issubclass(juggler.RuntimeBusy, juggler.JugglerError)


def test_engine_modules_import_no_circle() -> None:
    """No engine module reaches itself through imports, ``TYPE_CHECKING`` ones included
    (the old circle was ``_errors`` → ``_report`` → ``_channel`` → ``_errors``)."""
    engine = SRC / "engine"
    graph: dict[str, set[str]] = {}
    for path in engine.rglob("*.py"):
        name = ".".join(path.relative_to(SRC.parent).with_suffix("").parts)
        name = name.removesuffix(".__init__")
        graph[name] = {m for m in _imports(path) if m.startswith("juggler.engine")}
    circles = []
    for start in graph:
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    circles.append(" → ".join([*path, nxt]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*path, nxt]))
    assert circles == []
