"""Re-export a package's names without importing their modules until first use.

``juggler triage --no-kb`` on a small log must not pay for numpy, SQLite, YAML or httpx: the
knowledge base and the delivery channels re-export names from modules that import those.
PEP 562 lets a package answer ``from pkg import name`` by importing the one module that
defines ``name``, the first time it is asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, where: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``; ``where`` maps a name to its module.

    Example (in a package's ``__init__.py``)::

        __getattr__, __dir__ = lazy_exports(__name__, {"open_store": "._store"})
    """

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        # Cached in the package, so the next look-up is an ordinary attribute.
        importlib.import_module(package).__dict__[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*importlib.import_module(package).__dict__, *where})

    return __getattr__, __dir__
